// Command corridor runs every part of Corridor: one binary, one subcommand per
// job. Each subcommand only parses its flags and calls into a package; the
// work itself lives under internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every subcommand: 0 success, 1 a negative answer
// (invalid credential, failing rule suite), 2 usage or I/O error.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

// env is what a subcommand may touch of the outside world; tests pass their
// own buffers instead of the process's streams.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand. run returns the process exit code; an error it
// returns is printed and turned into exitUsage unless it is an *exitError.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{}

// register is called from the init function of each cmd_*.go file, so adding
// a subcommand never touches this file.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("corridor: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitError carries a specific exit code (and an optional message) out of a
// subcommand.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageErrorf reports a mistake in how the command was called.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func realMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "corridor: unknown command %q (run `corridor help` for the list)\n", args[0])
		return exitUsage
	}
	err := c.run(ctx, e, args[1:])
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(e.stderr, "corridor %s: %s\n", c.name, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(e.stderr, "corridor %s: %v\n", c.name, err)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: corridor <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun `corridor <command> -h` for a command's flags")
}

// subcommand splits "keys init ..." style calls: it returns the chosen
// sub-subcommand name and its arguments, or a usage error listing the choices.
func subcommand(parent string, args []string, choices ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usageErrorf("missing subcommand: one of %s", strings.Join(choices, ", "))
	}
	for _, c := range choices {
		if args[0] == c {
			return c, args[1:], nil
		}
	}
	return "", nil, usageErrorf("unknown %s subcommand %q: one of %s", parent, args[0], strings.Join(choices, ", "))
}
