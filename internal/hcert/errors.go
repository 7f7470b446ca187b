package hcert

import "fmt"

// Step names a layer of the HC1 format, outermost first.
type Step string

// The steps of decoding, in the order Decode runs them.
const (
	StepPrefix Step = "prefix" // the "HC1:" context identifier
	StepBase45 Step = "base45" // the Base45 text
	StepZlib   Step = "zlib"   // the zlib compression
	StepCOSE   Step = "cose"   // the COSE_Sign1 envelope
	StepCWT    Step = "cwt"    // the CWT claims inside it
)

// DecodeError says which step of decoding failed, and why.
type DecodeError struct {
	Step Step
	Err  error
}

// Error reads as a sentence for the person holding the scanner, followed by
// the technical cause for the log.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s: %v", e.summary(), e.Err)
}

func (e *DecodeError) summary() string {
	switch e.Step {
	case StepPrefix:
		return "this is not a health certificate code (it must start with HC1:)"
	case StepBase45:
		return "the code is damaged or incomplete: its text is not valid Base45"
	case StepZlib:
		return "the code is damaged: its compressed content cannot be unpacked"
	case StepCOSE:
		return "the code is damaged: its signed envelope cannot be read"
	case StepCWT:
		return "the certificate's contents cannot be read"
	default:
		return "the code cannot be read"
	}
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

func fail(step Step, err error) *DecodeError { return &DecodeError{Step: step, Err: err} }
