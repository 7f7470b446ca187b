package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPolicyChangeForms: a joint officer puts a newer version of the
// policy in force from the policy page or the API; a document that is
// not newer, or not the corridor's policy, is refused with the field at
// fault, in the reader's language, and changes nothing.
func TestPolicyChangeForms(t *testing.T) {
	en := newEnv(t, testPolicy(t))
	joint := en.as("joint_officer")
	v1 := en.app.Policy().Version

	// The page shows the document only to those who may change it.
	if _, body := joint.get("/policy"); !strings.Contains(body, `name="document"`) {
		t.Fatal("the joint officer sees no change form")
	}
	if _, body := en.as("reviewer").get("/policy"); strings.Contains(body, `name="document"`) {
		t.Fatal("a reviewer sees the change form")
	}

	same := string(en.app.Policy().Document())
	resp, body := joint.form("/policy", url.Values{"document": {same}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "a change needs a version above") {
		t.Fatalf("the same version: %d\n%s", resp.StatusCode, body)
	}
	other := strings.Replace(en.nextPolicy(), `"id": "`+en.app.Policy().ID+`"`, `"id": "another-corridor"`, 1)
	code, raw := joint.api(http.MethodPut, "/api/v1/policy", PolicyChangeInputJSON{Document: other}, nil)
	if e := decodeErr(t, raw); code != http.StatusUnprocessableEntity || !strings.Contains(e.Fields["document"], "another-corridor") {
		t.Fatalf("another policy: %d %s", code, raw)
	}
	if v := en.app.Policy().Version; v != v1 {
		t.Fatalf("a refused change moved the policy to version %d", v)
	}

	// In Chinese, the field's message is Chinese.
	zh := en.as("joint_officer")
	zh.lang = "zh"
	if resp, body := zh.form("/policy", url.Values{"document": {same}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "变更须高于现行的第") {
		t.Fatalf("the refusal in Chinese: %d\n%s", resp.StatusCode, body)
	}

	next := en.nextPolicy()
	if resp, _ := joint.form("/policy", url.Values{"document": {next}}); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "policy_changed") {
		t.Fatalf("the change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var got PolicyJSON
	if code, raw := en.as("reviewer").api(http.MethodGet, "/api/v1/policy", nil, &got); code != http.StatusOK || got.Version != v1+1 || got.Document != next {
		t.Fatalf("the policy after the change: %d %s", code, raw)
	}
}
