package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// peer is a running peer server: Pushpin or serverless-offline.
type peer struct {
	*server
	// url is the WebSocket URL the workload connects to.
	url string
	// version is the peer's version, for the machine facts.
	version string
	// helper is a process the peer needs (Pushpin's zurl), or nil.
	helper *server
}

// stop stops the peer and its helper.
func (p *peer) stop(grace time.Duration) {
	p.server.stop(grace)
	if p.helper != nil {
		p.helper.stop(grace)
	}
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// pushpinInstalled returns the path of pushpin, or "" when it is not on
// PATH.
func pushpinInstalled() string {
	p, err := exec.LookPath("pushpin")
	if err != nil {
		return ""
	}
	return p
}

// pushpinConfig is where the Debian package keeps its configuration, which
// startPushpin copies with its own ports and directories.
const pushpinConfig = "/etc/pushpin/pushpin.conf"

var pushpinSetting = regexp.MustCompile(`^(rundir|logdir|http_port|routesfile|log_level|port_offset|ipc_prefix|zurl_out_specs|zurl_out_stream_specs|zurl_in_specs|push_in_spec|push_in_sub_specs|push_in_http_port|command_spec)=`)

// startPushpin runs Pushpin in dir, routing every request to backend with
// WebSocket-over-HTTP (the route's over_http option), so that each client
// message becomes an HTTP POST of a TEXT event to the same backend that
// wsgwctl's HTTP_PROXY calls. Pushpin makes its outgoing requests through
// zurl, which the Debian package runs as a service of its own; the harness
// runs one beside Pushpin with sockets in dir instead.
func startPushpin(ctx context.Context, bin, dir, backendAddr string) (*peer, error) {
	zurlBin, err := exec.LookPath("zurl")
	if err != nil {
		return nil, fmt.Errorf("find zurl, which pushpin needs: %w", err)
	}
	zurlConf := filepath.Join(dir, "zurl.conf")
	spec := func(name string) string { return "ipc://" + filepath.Join(dir, "zurl-"+name) }
	if err := os.WriteFile(zurlConf, []byte(fmt.Sprintf("[General]\nin_spec=%s\nin_stream_spec=%s\nout_spec=%s\nin_req_spec=%s\n"+
		"defpolicy=allow\nallow=\ndeny=\nmax_open_requests=100000\nbuffer_size=200000\ntimeout=600\nin_hwm=100000\nout_hwm=100000\n",
		spec("in"), spec("in-stream"), spec("out"), spec("req"))), 0o600); err != nil {
		return nil, fmt.Errorf("write zurl configuration: %w", err)
	}
	zurl, err := startServer("zurl", exec.Command(zurlBin, "--config="+zurlConf))
	if err != nil {
		return nil, err
	}
	p, err := startPushpinProxy(ctx, bin, dir, backendAddr, spec)
	if err != nil {
		zurl.stop(5 * time.Second)
		return nil, err
	}
	p.helper = zurl
	return p, nil
}

func startPushpinProxy(ctx context.Context, bin, dir, backendAddr string, zurlSpec func(string) string) (*peer, error) {
	base, err := os.ReadFile(pushpinConfig)
	if err != nil {
		return nil, fmt.Errorf("read pushpin's configuration: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	routes := filepath.Join(dir, "routes")
	if err := os.WriteFile(routes, []byte("* "+backendAddr+",over_http\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write pushpin routes: %w", err)
	}
	// The handler's publishing ports get free ports too, so that the
	// harness's Pushpin never meets one the machine runs as a service.
	var handlerPorts [4]int
	for i := range handlerPorts {
		if handlerPorts[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	var conf strings.Builder
	for _, line := range strings.Split(string(base), "\n") {
		if pushpinSetting.MatchString(line) {
			continue
		}
		conf.WriteString(line + "\n")
		switch strings.TrimSpace(line) {
		case "[global]":
			fmt.Fprintf(&conf, "rundir=%s\nport_offset=0\nipc_prefix=wsgwbench-\n", dir)
		case "[runner]":
			fmt.Fprintf(&conf, "http_port=%d\nlogdir=%s\nlog_level=1\n", port, dir)
		case "[proxy]":
			fmt.Fprintf(&conf, "routesfile=%s\nzurl_out_specs=%s\nzurl_out_stream_specs=%s\nzurl_in_specs=%s\n",
				routes, zurlSpec("in"), zurlSpec("in-stream"), zurlSpec("out"))
		case "[handler]":
			fmt.Fprintf(&conf, "push_in_spec=tcp://127.0.0.1:%d\npush_in_sub_specs=tcp://127.0.0.1:%d\npush_in_http_port=%d\ncommand_spec=tcp://127.0.0.1:%d\n",
				handlerPorts[0], handlerPorts[1], handlerPorts[2], handlerPorts[3])
		}
	}
	confPath := filepath.Join(dir, "pushpin.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		return nil, fmt.Errorf("write pushpin configuration: %w", err)
	}
	s, err := startServer("pushpin", exec.Command(bin, "--config", confPath))
	if err != nil {
		return nil, err
	}
	p := &peer{server: s, url: fmt.Sprintf("ws://127.0.0.1:%d/echo", port), version: commandVersion(bin, "--version")}
	if err := waitListening(ctx, s, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		s.stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

// waitListening waits until addr accepts TCP connections or s exits.
func waitListening(ctx context.Context, s *server, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it listened on %s: %s", s.name, addr, s.lastOutput())
		case <-ctx.Done():
			return fmt.Errorf("%s did not listen on %s within %s: %s", s.name, addr, startTimeout, s.lastOutput())
		case <-tick.C:
		}
	}
}

// commandVersion returns the first line cmd args prints, or "".
func commandVersion(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// serverlessInstalled returns the serverless binary that install-peers.sh
// puts into bench/.peers, or "".
func serverlessInstalled(benchDir string) string {
	bin := filepath.Join(benchDir, ".peers", "node_modules", ".bin", "serverless")
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return ""
	}
	return bin
}

var serverlessReady = regexp.MustCompile(`Offline \[websocket\] listening on (ws://\S+)`)

// startServerless runs `serverless offline start` for the service in
// bench/serverless: a $default route whose Node handler returns the body
// as the route response.
func startServerless(ctx context.Context, bin, benchDir string) (*peer, error) {
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	cmd := exec.Command(bin, "offline", "start", "--host", "127.0.0.1",
		"--websocketPort", strconv.Itoa(ports[0]), "--httpPort", strconv.Itoa(ports[1]), "--lambdaPort", strconv.Itoa(ports[2]))
	cmd.Dir = filepath.Join(benchDir, "serverless")
	cmd.Env = append(os.Environ(), "SLS_TELEMETRY_DISABLED=1", "SLS_NOTIFICATIONS_MODE=off", "SLS_DEPRECATION_DISABLE=*")
	s, err := startServer("serverless-offline", cmd)
	if err != nil {
		return nil, err
	}
	m, err := s.waitFor(ctx, serverlessReady)
	if err != nil {
		s.stop(5 * time.Second)
		return nil, err
	}
	return &peer{server: s, url: strings.Replace(m[1], "localhost", "127.0.0.1", 1), version: serverlessVersion(benchDir)}, nil
}

// serverlessVersion returns "serverless X, serverless-offline Y" from the
// installed packages.
func serverlessVersion(benchDir string) string {
	version := func(pkg string) string {
		data, err := os.ReadFile(filepath.Join(benchDir, ".peers", "node_modules", pkg, "package.json"))
		if err != nil {
			return "?"
		}
		var p struct{ Version string }
		if json.NewDecoder(bytes.NewReader(data)).Decode(&p) != nil {
			return "?"
		}
		return p.Version
	}
	return "serverless " + version("serverless") + ", serverless-offline " + version("serverless-offline")
}
