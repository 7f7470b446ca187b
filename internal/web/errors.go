package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/corridorlane/corridor/internal/app"
)

// statusOf maps an application error code to its HTTP status. It is the
// one place this mapping is written; pages and the API both use it.
func statusOf(err error) int {
	switch app.ErrorCode(err) {
	case app.CodeInvalid:
		return http.StatusUnprocessableEntity
	case app.CodeUnauthenticated:
		return http.StatusUnauthorized
	case app.CodeForbidden:
		return http.StatusForbidden
	case app.CodeNotFound:
		return http.StatusNotFound
	case app.CodeConflict:
		return http.StatusConflict
	case app.CodeQuotaExhausted:
		return http.StatusConflict
	case app.CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// apiErrorBody is every API error: an English sentence, the stable code,
// and per-field messages.
type apiErrorBody struct {
	Error  string            `json:"error"`
	Code   string            `json:"code"`
	Fields map[string]string `json:"fields,omitempty"`
}

// publicError turns err into what may be shown: an *app.Error's message
// and fields, or "internal error" for anything else (whose text may name
// tables, files or hosts), which is logged instead.
func (s *Server) publicError(ctx context.Context, err error) (status int, body apiErrorBody) {
	var e *app.Error
	status = statusOf(err)
	if errors.As(err, &e) && e.Code != app.CodeInternal {
		return status, apiErrorBody{Error: e.Msg, Code: string(e.Code), Fields: e.Fields}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads the answer.
		return 499, apiErrorBody{Error: "request cancelled", Code: string(app.CodeInternal)}
	}
	st := stateFrom(ctx)
	s.log.ErrorContext(ctx, "request failed", slog.String("request", st.id), slog.String("route", st.route), slog.Any("err", err))
	return http.StatusInternalServerError, apiErrorBody{Error: "internal error", Code: string(app.CodeInternal)}
}

// apiError writes err as a JSON error answer.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.publicError(r.Context(), err)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "900")
	}
	writeJSON(w, status, body)
}

// writeJSON encodes v into a buffer first, so that an encoding failure is
// a clean 500 rather than half a document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apiErrorBody{Error: "internal error", Code: string(app.CodeInternal)})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// invalidField makes an invalid-input error for one field, for checks the
// web layer makes itself (decoding, types, sizes).
func invalidField(field, msg string) *app.Error {
	return &app.Error{Code: app.CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{field: msg}}
}
