package apikey

import (
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// benchKeys compiles 1000 keys in one plan with a throttle and a quota that
// never run out, so every check takes the full path.
func benchKeys(b *testing.B) (*Keys, []string) {
	var (
		keys   []*model.APIKey
		names  []string
		values []string
	)
	for i := range 1000 {
		name := "key" + string(rune('a'+i%26)) + time.Duration(i).String()
		value := "benchmark-api-key-value-" + name
		keys = append(keys, &model.APIKey{Name: name, Value: value, Enabled: true})
		names = append(names, name)
		values = append(values, value)
	}
	plans := []*model.UsagePlan{{Name: "all", Stages: []model.UsagePlanStage{{API: "orders", Stage: "live"}},
		Throttle: &model.Throttle{BurstLimit: 1 << 30, RateLimit: 1e9},
		Quota:    &model.Quota{Limit: 1 << 40, Period: "MONTH"}, APIKeys: names}}
	ks, err := Compile(keys, plans, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return ks, values
}

// BenchmarkCheck measures a handshake's key check (hash, lookup, throttle,
// quota), BenchmarkCheckRef a message's (no hash), and "unknown" the cost of
// refusing a guessed key.
//
//	go test -run '^$' -bench Check -benchmem ./runtime/apikey/
func BenchmarkCheck(b *testing.B) {
	ks, values := benchKeys(b)
	now := time.Now()
	b.Run("allowed", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if o := ks.Check("orders", "live", values[i%len(values)], now); o.Reason != Allowed {
				b.Fatal(o)
			}
			i++
		}
	})
	b.Run("unknown", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if o := ks.Check("orders", "live", "benchmark-api-key-value-guess", now); o.Reason != Unknown {
				b.Fatal(o)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				ks.Check("orders", "live", values[i%len(values)], now)
				i++
			}
		})
	})
}

func BenchmarkCheckRef(b *testing.B) {
	ks, values := benchKeys(b)
	ref := RefOf(values[0])
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if o := ks.CheckRef("orders", "live", ref, now); o.Reason != Allowed {
			b.Fatal(o)
		}
	}
}
