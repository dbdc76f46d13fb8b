package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// oaDoc is as much of an OpenAPI 3 document as the tests check.
type oaDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

// oaOperation is one operation of a path item.
type oaOperation struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Security    *[]map[string][]string     `json:"security"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

// oaMethods are the path item keys that are operations.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) oaDoc {
	t.Helper()
	var doc oaDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi is %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// operations returns the document's operations by "METHOD path".
func (d oaDoc) operations(t *testing.T) map[string]oaOperation {
	t.Helper()
	ops := map[string]oaOperation{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if !slices.Contains(oaMethods, method) {
				continue // parameters, summary, servers…
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", strings.ToUpper(method), path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

func routeKey(rt Route) string { return strings.ToUpper(rt.Method) + " " + rt.Path }

func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)
	want := map[string]bool{}
	for _, rt := range Routes() {
		want[routeKey(rt)] = true
	}
	var missing, extra []string
	for k := range want {
		if _, ok := ops[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range ops {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes the document does not list:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations of the document that are not routes:\n  %s", strings.Join(extra, "\n  "))
	}
}

func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	accessOf := map[string]access{}
	for _, rt := range Routes() {
		accessOf[routeKey(rt)] = rt.Access
	}
	ids := map[string]string{}
	for _, k := range keys {
		op := ops[k]
		switch prev, dup := ids[op.OperationID]; {
		case op.OperationID == "":
			t.Errorf("%s: no operationId", k)
		case dup:
			t.Errorf("%s: operationId %q is also %s's", k, op.OperationID, prev)
		default:
			ids[op.OperationID] = k
		}
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s: no summary", k)
		}
		ok := false
		for status := range op.Responses {
			if len(status) == 3 && status[0] == '2' {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no 2xx response", k)
		}
		need := []string{"400"}
		if a, ok := accessOf[k]; ok && a != public {
			need = append(need, "401")
		}
		if len(op.RequestBody) > 0 {
			need = append(need, "413")
		}
		for _, s := range need {
			if _, ok := op.Responses[s]; !ok {
				t.Errorf("%s: no %s response", k, s)
			}
		}
	}

	// Every $ref, anywhere in the document, names a schema it defines.
	var tree any
	if err := json.Unmarshal(OpenAPI(), &tree); err != nil {
		t.Fatal(err)
	}
	const prefix = "#/components/schemas/"
	refs := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for key, child := range v {
				if key == "$ref" {
					refs++
					ref, _ := child.(string)
					name, ok := strings.CutPrefix(ref, prefix)
					if !ok {
						t.Errorf("%s: $ref %q is not under %s", at, ref, prefix)
					} else if _, ok := doc.Components.Schemas[name]; !ok {
						t.Errorf("%s: $ref %q names no schema", at, ref)
					}
					continue
				}
				walk(at+"/"+key, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s/%d", at, i), child)
			}
		}
	}
	walk("#", tree)
	if refs == 0 {
		t.Error("the document has no $ref: the shared schemas are unused")
	}
}

func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	if s, ok := doc.Components.SecuritySchemes["bearerAuth"]; !ok || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		t.Errorf("components.securitySchemes.bearerAuth = %+v, %v; want an http bearer scheme", s, ok)
	}
	ops := doc.operations(t)
	phrase := map[string]string{
		"public":  "Access: public",
		"service": "Access: service or administrator",
		"admin":   "Access: administrator only",
	}
	for _, rt := range Routes() {
		k := routeKey(rt)
		op, ok := ops[k]
		if !ok {
			continue // TestOpenAPIRoutes reports it
		}
		if !strings.Contains(op.Description, phrase[rt.AccessName()]) {
			t.Errorf("%s: the description does not say %q", k, phrase[rt.AccessName()])
		}
		if op.Security == nil {
			t.Errorf("%s: no security (want %s)", k, map[bool]string{true: "[]", false: "bearerAuth"}[rt.Access == public])
			continue
		}
		if rt.Access == public {
			if len(*op.Security) != 0 {
				t.Errorf("%s is public: security is %v, want []", k, *op.Security)
			}
			continue
		}
		// Every alternative must require bearerAuth, or a request without
		// the credential would satisfy the document.
		if len(*op.Security) == 0 {
			t.Errorf("%s needs a credential: security is []", k)
		}
		for _, alt := range *op.Security {
			if _, ok := alt["bearerAuth"]; !ok {
				t.Errorf("%s needs a credential: security alternative %v does not require bearerAuth", k, alt)
			}
		}
	}
}

func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	desc := doc.Info.Description
	codes := []string{"unauthorized", "internal"}
	for _, e := range server.Catalogue {
		codes = append(codes, string(e.Code))
	}
	for _, c := range codes {
		if !strings.Contains(desc, c) {
			t.Errorf("info.description does not document the error code %s", c)
		}
	}
	// The table gives each catalogue code the status StatusOf gives it.
	for _, e := range server.Catalogue {
		status, ok := StatusOf[e.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		row := fmt.Sprintf("| `%s` | %d |", e.Code, status)
		if !strings.Contains(desc, row) {
			t.Errorf("info.description has no row %q", row)
		}
	}
}

// TestOpenAPIErrorsSayWhatTheServerDoes: each row of the error table says
// when as the catalogue does (what HTTP adds may follow), and the messages
// a code is given besides its catalogue entry's are in the document too.
func TestOpenAPIErrorsSayWhatTheServerDoes(t *testing.T) {
	desc := loadOpenAPI(t).Info.Description
	for _, e := range server.Catalogue {
		status, ok := StatusOf[e.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		row := fmt.Sprintf("| `%s` | %d | %s", e.Code, status, e.When)
		if !strings.Contains(desc, row) {
			t.Errorf("info.description: the row of %s should begin %q", e.Code, row)
		}
	}
	for _, v := range server.MessageVariants {
		if !strings.Contains(desc, v.Message) {
			t.Errorf("info.description does not give %s's message for %s: %q", v.Code, v.When, v.Message)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	srv, _ := servertest.New(t, server.Policy{})
	ts := httptest.NewServer(New(srv, Options{AdminToken: "openapi-test-admin-credential", ServiceToken: "openapi-test-service-credential"}))
	t.Cleanup(ts.Close)

	resp, err := http.Get(ts.URL + "/v1/openapi.json") // no credential: it is public
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type is %q, want application/json", ct)
	}
	if !bytes.Equal(body, OpenAPI()) {
		t.Errorf("the served document (%d bytes) differs from the embedded one (%d bytes)", len(body), len(OpenAPI()))
	}
}

// TestOpenAPIPolicySchemaHasEverySetting: the Policy schema lists exactly
// the keys GET /v1/policy serves, which come from the policy table.
func TestOpenAPIPolicySchemaHasEverySetting(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["Policy"].Properties
	served := (server.Policy{}).Document()
	for k := range served {
		if _, ok := props[k]; !ok {
			t.Errorf("GET /v1/policy serves %q; the OpenAPI Policy schema lacks it", k)
		}
	}
	for k := range props {
		if _, ok := served[k]; !ok {
			t.Errorf("the OpenAPI Policy schema lists %q; GET /v1/policy does not serve it", k)
		}
	}
}
