package httpapi

import (
	"net/http"

	"github.com/tokenlab/tokenlab/server"
)

// Phone OTP and identity proofing (docs/lifecycle.md, “Phone OTP and
// identity proofing”). The routes name the user in the path, so the
// service credential always names whom it acts for; the proofing outcome
// is the proofing service's answer, which only an administrator enters.
// The numbers and codes in a request are checked by the server, not here,
// so that a malformed one gets the same refusal in process and over HTTP.
var phoneRoutes = []Route{
	{"GET", "/v1/accounts/{user_id}/phones", service, (*api).listPhones},
	{"POST", "/v1/accounts/{user_id}/phones", service, (*api).addPhone},
	{"POST", "/v1/accounts/{user_id}/phones/{number}/verify", service, (*api).verifyPhone},
	{"DELETE", "/v1/accounts/{user_id}/phones/{number}", service, (*api).removePhone},
	{"POST", "/v1/accounts/{user_id}/phone-subscription/renew", service, (*api).renewPhoneSubscription},
	{"POST", "/v1/phone-codes", service, (*api).sendPhoneCode},
	{"GET", "/v1/accounts/{user_id}/proofing", service, (*api).getProofing},
	{"POST", "/v1/accounts/{user_id}/proofing", admin, (*api).recordProofing},
	{"POST", "/v1/accounts/{user_id}/proofing/code", service, (*api).enterProofingCode},
}

// The refusals of phone OTP, by status: kept with their routes.
var phoneStatuses = map[server.Code]int{
	server.CodePhoneUnverified:          http.StatusForbidden,
	server.CodePhoneOTPRequired:         http.StatusForbidden,
	server.CodePhoneSubscriptionExpired: http.StatusForbidden,
	server.CodePhoneSubscriptionLapsed:  http.StatusForbidden,
	server.CodePhoneCodeLimit:           http.StatusTooManyRequests,
}

func init() {
	routes = append(routes, phoneRoutes...)
	for c, s := range phoneStatuses {
		StatusOf[c] = s
	}
}

func (a *api) listPhones(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Phones(r.Context(), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) addPhone(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Number    string `json:"number"`
		Method    string `json:"method"`
		SessionID string `json:"session_id"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("number", b.Number, "method", b.Method); err != nil {
		return err
	}
	v, err := a.srv.AddPhone(r.Context(), r.PathValue("user_id"), b.Number, b.Method, b.SessionID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *api) verifyPhone(w http.ResponseWriter, r *http.Request) error {
	n := r.PathValue("number")
	var b struct {
		Code string `json:"code"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("code", b.Code); err != nil {
		return err
	}
	v, err := a.srv.VerifyPhone(r.Context(), r.PathValue("user_id"), n, b.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// removePhone takes the session in an optional body: a DELETE's body is
// unusual, but a session ID in the query would land in proxies' logs.
func (a *api) removePhone(w http.ResponseWriter, r *http.Request) error {
	n := r.PathValue("number")
	var b struct {
		SessionID string `json:"session_id"`
	}
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	if err := a.srv.RemovePhone(r.Context(), r.PathValue("user_id"), n, b.SessionID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renewPhoneSubscription acts as the administrator with the administrator
// credential, as the user with the service credential; "by" says which
// when the administrator credential acts for the user.
func (a *api) renewPhoneSubscription(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		By string `json:"by"`
	}
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	userID := r.PathValue("user_id")
	actor := server.AsUser(userID)
	switch {
	case b.By == "admin" && !a.isAdmin(r):
		return &httpError{http.StatusForbidden, string(server.CodeForbidden), `"by":"admin" needs the administrator credential`}
	case b.By == "admin", b.By == "" && a.isAdmin(r):
		actor = server.AsAdmin("api")
	case b.By != "user" && b.By != "":
		return badRequest(`field "by" must be "user" or "admin"`)
	}
	v, err := a.srv.RenewPhoneSubscription(r.Context(), actor, userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) sendPhoneCode(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID string `json:"user_id"`
		Number string `json:"number"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "number", b.Number); err != nil {
		return err
	}
	v, err := a.srv.SendPhoneCode(r.Context(), b.UserID, b.Number)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// phoneFields are the phone login fields of POST /v1/sessions and
// /elevate: given, they are both needed, and no hardware code with them.
func phoneFields(otp, phone, code string) (bool, error) {
	if phone == "" && code == "" {
		return false, nil
	}
	switch {
	case otp != "":
		return false, badRequest(`give "otp" (a token's code) or "phone" and "phone_code", not both`)
	case phone == "" || code == "":
		return false, badRequest(`"phone" and "phone_code" go together: the phone the code was sent to, and the code`)
	}
	return true, nil
}

func (a *api) getProofing(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Proofing(r.Context(), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) recordProofing(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Outcome string `json:"outcome"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("outcome", b.Outcome); err != nil {
		return err
	}
	v, err := a.srv.RecordProofing(r.Context(), server.AsAdmin("api"), r.PathValue("user_id"), b.Outcome)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) enterProofingCode(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Code string `json:"code"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("code", b.Code); err != nil {
		return err
	}
	v, err := a.srv.EnterProofingCode(r.Context(), r.PathValue("user_id"), b.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// loginWithPhone is POST /v1/sessions with "phone" and "phone_code"; err is
// phoneFields' refusal of them, if any.
func (a *api) loginWithPhone(w http.ResponseWriter, r *http.Request, userID, password, phone, code string, err error) error {
	if err != nil {
		return err
	}
	s, err := a.srv.LoginWithPhone(r.Context(), userID, password, phone, code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s)
	return nil
}

// elevateWithPhone is POST /v1/sessions/{id}/elevate with "phone" and
// "phone_code".
func (a *api) elevateWithPhone(w http.ResponseWriter, r *http.Request, phone, code string, err error) error {
	if err != nil {
		return err
	}
	s, err := a.srv.ElevateWithPhone(r.Context(), r.PathValue("id"), phone, code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}
