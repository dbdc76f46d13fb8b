package client

import (
	"context"

	"github.com/tokenlab/tokenlab/server"
)

// Phone OTP and identity proofing (server.Phones, server.IdentityProofing).

// AddPhone registers a phone and has a code sent to it to verify it with.
// sessionID (a phone or hardware OTP login of the user) is sent when not
// empty: the server needs it once the account holds an OTP credential.
func (c *Client) AddPhone(ctx context.Context, userID, number, method, sessionID string) (server.PhoneView, error) {
	in := struct {
		Number    string `json:"number"`
		Method    string `json:"method"`
		SessionID string `json:"session_id,omitempty"`
	}{number, method, sessionID}
	var out server.PhoneView
	err := c.call(ctx, "POST", "/v1/accounts/{user_id}/phones", []string{userID}, nil, in, &out)
	return out, err
}

// VerifyPhone verifies a phone with the code sent to it.
func (c *Client) VerifyPhone(ctx context.Context, userID, number, code string) (server.PhoneView, error) {
	in := struct {
		Code string `json:"code"`
	}{code}
	var out server.PhoneView
	err := c.call(ctx, "POST", "/v1/accounts/{user_id}/phones/{number}/verify", []string{userID, number}, nil, in, &out)
	return out, err
}

// RemovePhone removes a phone; sessionID as for AddPhone.
func (c *Client) RemovePhone(ctx context.Context, userID, number, sessionID string) error {
	var in any
	if sessionID != "" {
		in = struct {
			SessionID string `json:"session_id"`
		}{sessionID}
	}
	return c.call(ctx, "DELETE", "/v1/accounts/{user_id}/phones/{number}", []string{userID, number}, nil, in, nil)
}

// Phones lists the phones a user logs in with, and their subscription.
func (c *Client) Phones(ctx context.Context, userID string) (server.PhonesView, error) {
	var out server.PhonesView
	err := c.call(ctx, "GET", "/v1/accounts/{user_id}/phones", []string{userID}, nil, nil, &out)
	return out, err
}

// SendPhoneCode has a code sent to a phone: a login code to a verified one,
// the verification code again to another.
func (c *Client) SendPhoneCode(ctx context.Context, userID, number string) (server.PhoneCodeSent, error) {
	in := struct {
		UserID string `json:"user_id"`
		Number string `json:"number"`
	}{userID, number}
	var out server.PhoneCodeSent
	err := c.call(ctx, "POST", "/v1/phone-codes", nil, nil, in, &out)
	return out, err
}

// LoginWithPhone opens a phone OTP session with the password and a code.
func (c *Client) LoginWithPhone(ctx context.Context, userID, password, number, code string) (server.Session, error) {
	in := struct {
		UserID    string `json:"user_id"`
		Password  string `json:"password"`
		Phone     string `json:"phone"`
		PhoneCode string `json:"phone_code"`
	}{userID, password, number, code}
	var out server.Session
	err := c.call(ctx, "POST", "/v1/sessions", nil, nil, in, &out)
	return out, err
}

// ElevateWithPhone raises a session to phone OTP strength with a code.
func (c *Client) ElevateWithPhone(ctx context.Context, id, number, code string) (server.Session, error) {
	in := struct {
		Phone     string `json:"phone"`
		PhoneCode string `json:"phone_code"`
	}{number, code}
	var out server.Session
	err := c.call(ctx, "POST", "/v1/sessions/{id}/elevate", []string{id}, nil, in, &out)
	return out, err
}

// RenewPhoneSubscription renews a user's phone OTP subscription, by the
// user or an administrator ("by"). A user renews only their own: another
// is refused here as the server would refuse it.
func (c *Client) RenewPhoneSubscription(ctx context.Context, actor server.Actor, userID string) (server.PhonesView, error) {
	if err := server.CheckSelf(actor, userID, "renews a phone OTP subscription"); err != nil {
		return server.PhonesView{}, err
	}
	in := struct {
		By string `json:"by"`
	}{"admin"}
	if !actor.Admin {
		in.By = "user"
	}
	var out server.PhonesView
	err := c.call(ctx, "POST", "/v1/accounts/{user_id}/phone-subscription/renew", []string{userID}, nil, in, &out)
	return out, err
}

// RecordProofing records an identity proofing outcome. Only an
// administrator records one (the administrator credential).
func (c *Client) RecordProofing(ctx context.Context, actor server.Actor, userID, outcome string) (server.ProofingView, error) {
	if err := server.CheckAdmin(actor, "records a proofing outcome"); err != nil {
		return server.ProofingView{}, err
	}
	in := struct {
		Outcome string `json:"outcome"`
	}{outcome}
	var out server.ProofingView
	err := c.call(ctx, "POST", "/v1/accounts/{user_id}/proofing", []string{userID}, nil, in, &out)
	return out, err
}

// EnterProofingCode is a user entering a proofing activation code.
func (c *Client) EnterProofingCode(ctx context.Context, userID, code string) (server.ProofingView, error) {
	in := struct {
		Code string `json:"code"`
	}{code}
	var out server.ProofingView
	err := c.call(ctx, "POST", "/v1/accounts/{user_id}/proofing/code", []string{userID}, nil, in, &out)
	return out, err
}

// Proofing returns a user's identity proofing.
func (c *Client) Proofing(ctx context.Context, userID string) (server.ProofingView, error) {
	var out server.ProofingView
	err := c.call(ctx, "GET", "/v1/accounts/{user_id}/proofing", []string{userID}, nil, nil, &out)
	return out, err
}
