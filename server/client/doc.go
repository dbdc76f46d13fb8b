// Package client calls a tokenlab verification server over its HTTP API
// (package server/httpapi) with the types of package server. *Client
// implements server.Service, as *server.Server does, so that code written
// against the interface works unchanged in process and against a remote
// server:
//
//	var svc server.Service = client.New(url, adminToken) // or a *server.Server
//	v, err := svc.Suspend(ctx, server.AsUser("alice"), "VIRT2447200000000")
//
// Over HTTP the credential bounds the Actor: server.AsAdmin needs the
// administrator credential, and the API records the administrator as "api".
// A call that names the zero Actor, or an administrator's call made as a
// user, is refused before anything is sent, as the server would refuse it.
//
//	c := client.New("http://localhost:8080", os.Getenv("TOKENLAB_TOKEN"))
//	v, err := c.Verify(ctx, "alice", "12345678")
//	switch {
//	case errors.Is(err, server.ErrOTPReplayed):
//		// the code was already used: wait for the next one
//	case err != nil:
//		var se *server.Error
//		if errors.As(err, &se) {
//			fmt.Println(se.Code, se.Message) // a refusal: show se.Message
//		}
//		return err // or a transport error
//	}
//	fmt.Println("accepted at step", v.Step)
//
// A refusal is a *Error (HTTP status, code, message); errors.Is matches it
// against the server's sentinels by code and errors.As fills a
// *server.Error. A transport error names the method and the route pattern
// only: errors never hold the credential, a request body, the query (an
// inventory import's password or key) or a path value such as a session id.
package client
