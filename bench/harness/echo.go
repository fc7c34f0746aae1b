package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/gobwas/ws"
)

// echoMaxFrame is the largest frame the echo server writes: messages are
// fragmented like the gateway fragments them (32 KiB frames), so that W8
// compares equal work.
const echoMaxFrame = 32 << 10

// echoMaxMessage bounds a reassembled message.
const echoMaxMessage = 1 << 20

// serveEcho runs the raw gobwas/ws echo server on addr until SIGTERM or
// SIGINT: the physical-limit baseline. Each connection gets one goroutine
// that reads frames with gobwas/ws's low-level reader and writes each
// message back with one flush, which is as little as a WebSocket server
// can do per message.
func serveEcho(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Printf("echo listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if _, err := ws.Upgrade(c); err != nil {
				return
			}
			_ = echoConn(c)
		}()
	}
	return nil
}

var echoWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

// echoConn echoes the messages of one upgraded connection until it
// closes. It reads through a 4 KiB buffered reader, as gobwas/ws servers
// usually do (one read syscall for a small frame's header and payload),
// and takes its write buffer from a pool only while it writes.
func echoConn(c net.Conn) error {
	var (
		hdr [ws.MaxHeaderSize]byte
		msg []byte
		op  ws.OpCode
	)
	br := bufio.NewReaderSize(c, 4096)
	for {
		h, err := ws.ReadHeaderBuffer(br, hdr[:])
		if err != nil {
			return err
		}
		if h.Length > echoMaxFrame || int64(len(msg))+h.Length > echoMaxMessage {
			return errors.New("frame too large")
		}
		start := len(msg)
		msg = append(msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(br, msg[start:]); err != nil {
			return err
		}
		if h.Masked {
			ws.Cipher(msg[start:], h.Mask, 0)
		}
		switch {
		case h.OpCode == ws.OpClose:
			code, _ := ws.ParseCloseFrameData(msg[start:])
			_ = writeEcho(c, ws.OpClose, ws.NewCloseFrameBody(code, ""))
			return nil
		case h.OpCode == ws.OpPing:
			p := append([]byte(nil), msg[start:]...)
			msg = msg[:start]
			if err := writeEcho(c, ws.OpPong, p); err != nil {
				return err
			}
			continue
		case h.OpCode.IsControl():
			msg = msg[:start]
			continue
		case h.OpCode != ws.OpContinuation:
			op = h.OpCode
		}
		if !h.Fin {
			continue
		}
		if err := writeEcho(c, op, msg); err != nil {
			return err
		}
		msg = msg[:0]
		if cap(msg) > echoMaxFrame {
			msg = nil
		}
	}
}

// writeEcho writes one message, fragmented into echoMaxFrame frames, with
// one flush.
func writeEcho(c net.Conn, op ws.OpCode, p []byte) error {
	bw := echoWriters.Get().(*bufio.Writer)
	bw.Reset(c)
	defer func() {
		bw.Reset(nil)
		echoWriters.Put(bw)
	}()
	for {
		n := min(len(p), echoMaxFrame)
		if op.IsControl() {
			n = len(p)
		}
		if err := ws.WriteHeader(bw, ws.Header{Fin: n == len(p), OpCode: op, Length: int64(n)}); err != nil {
			return err
		}
		if _, err := bw.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			break
		}
		op = ws.OpContinuation
	}
	return bw.Flush()
}

// runEchoMode serves the echo server when the harness is started with
// --serve-echo, and exits.
func runEchoMode(addr string) {
	if err := serveEcho(addr); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
