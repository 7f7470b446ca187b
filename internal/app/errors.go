package app

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// Code classifies an error for the edges: the web layer maps each code to
// one HTTP status in one place.
type Code string

const (
	// CodeInvalid: the input is wrong; Fields says where.
	CodeInvalid Code = "invalid"
	// CodeUnauthenticated: no valid session, token or link.
	CodeUnauthenticated Code = "unauthenticated"
	// CodeForbidden: the principal may not do this.
	CodeForbidden Code = "forbidden"
	// CodeNotFound: no such thing, or not one the principal may see.
	CodeNotFound Code = "not_found"
	// CodeConflict: the thing is in a state that does not allow this (a
	// refused transition, a used invitation, a concurrent change).
	CodeConflict Code = "conflict"
	// CodeQuotaExhausted: the weekly quota is used up.
	CodeQuotaExhausted Code = "quota_exhausted"
	// CodeRateLimited: too many attempts; try later.
	CodeRateLimited Code = "rate_limited"
	// CodeInternal: anything else; the message is not for users.
	CodeInternal Code = "internal"
)

// Error is what every use case returns when it refuses or fails.
type Error struct {
	Code Code
	// Msg is a sentence for the person who tried, free of personal data.
	Msg string
	// Fields holds per-field messages keyed by field name, e.g.
	// "traveller.passport_number" or "itinerary[2].to_date".
	Fields map[string]string
	// Err is the cause, such as a *trip.Refusal; errors.Is and errors.As
	// reach it.
	Err error
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Msg
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Msg + " (" + strings.Join(parts, "; ") + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of an *Error in err's chain, or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

func forbidden(format string, a ...any) *Error { return errorf(CodeForbidden, format, a...) }
func conflict(format string, a ...any) *Error  { return errorf(CodeConflict, format, a...) }
func notFound(what string) *Error              { return errorf(CodeNotFound, "%s not found", what) }

// invalid collects field problems.
type invalid map[string]string

func (v invalid) add(field, format string, a ...any) {
	if _, ok := v[field]; !ok { // the first problem of a field is the one to fix
		v[field] = fmt.Sprintf(format, a...)
	}
}

func (v invalid) err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: v}
}

// storeErr turns store sentinels into coded errors; what names the thing.
func storeErr(err error, what string) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: CodeNotFound, Msg: what + " not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Code: CodeConflict, Msg: what + " was changed by someone else, or is already taken: reload and try again", Err: err}
	}
	return &Error{Code: CodeInternal, Msg: "internal error", Err: err}
}

// tripRoles are all the roles the trip machine knows.
var tripRoles = []trip.Role{trip.RoleSponsor, trip.RoleReviewer, trip.RoleHealthAuthority, trip.RoleLab, trip.RoleBorder,
	trip.RoleArrival, trip.RoleHealthMonitor, trip.RoleJoint, trip.RoleTraveller, trip.RoleSystem, trip.RolePeer}

// refused turns the trip machine's refusal into a coded error that still
// wraps the *trip.Refusal: forbidden when another role could take the
// action from this state, invalid when only the reason was missing,
// conflict when the state does not allow it at all.
func refused(err error, from trip.State, action trip.Action, role trip.Role) error {
	var r *trip.Refusal
	if !errors.As(err, &r) {
		return err
	}
	code := CodeConflict
	switch {
	case allows(from, role, action):
		code = CodeInvalid
		return &Error{Code: code, Msg: r.Msg, Fields: map[string]string{"reason": r.Msg}, Err: r}
	default:
		for _, other := range tripRoles {
			if allows(from, other, action) {
				code = CodeForbidden
				break
			}
		}
	}
	return &Error{Code: code, Msg: r.Msg, Err: r}
}

func allows(from trip.State, role trip.Role, action trip.Action) bool {
	for _, a := range trip.Allowed(from, role) {
		if a == action {
			return true
		}
	}
	return false
}
