package selection_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wsgwctl/wsgwctl/selection"
)

func ExampleExpr_Evaluate() {
	e, err := selection.Parse("${request.body.service}/${request.body.action}", selection.Body)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 0, 64) // reused across messages: no allocation per message
	key, ok := e.Evaluate(buf[:0], []byte(`{"service":"chat","action":"join","data":{"room":"room1234"}}`))
	fmt.Println(string(key), ok)
	key, ok = e.Evaluate(buf[:0], []byte(`plain text`))
	fmt.Printf("%q %v\n", key, ok)
	// Output:
	// chat/join true
	// "" false
}

func ExampleParse_error() {
	_, err := selection.Parse("${request.body.action", selection.Body)
	var pe *selection.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Offset, pe.End)
		fmt.Println(pe.Message)
	}
	// Output:
	// 0 21
	// The variable starting with ${ is not terminated: add a } after the variable, as in ${request.body.action}.
}

func ExampleExpr_EvaluateAPIKey() {
	e, err := selection.Parse("$request.header.x-api-key", selection.APIKey)
	if err != nil {
		panic(err)
	}
	h := http.Header{"X-Api-Key": {"abcdefghijklmnopqrstuvwxyz"}}
	fmt.Println(e.EvaluateAPIKey(h.Get, ""))
	// Output:
	// abcdefghijklmnopqrstuvwxyz
}
