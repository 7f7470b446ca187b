package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/node"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
)

func init() {
	register(command{name: "serve", summary: "run a node: web pages and the JSON API on one port (SQLite by default)", run: runServe})
	register(command{name: "migrate", summary: "bring a node's database schema up to date", run: runMigrate})
	register(command{name: "admin", summary: "create a node administrator", run: runAdmin})
	register(command{name: "audit", summary: "check the audit log's hash chain for changed or removed entries", run: runAudit})
}

// nodeFlags are the settings every node command shares. Each flag has an
// environment variable; a flag given on the command line wins.
type nodeFlags struct {
	listen, data, db, country, policy, authority, publicURL *string
}

func addNodeFlags(fs *flag.FlagSet) nodeFlags {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	return nodeFlags{
		listen:    fs.String("listen", env("CORRIDOR_LISTEN", node.DefaultListen), "address to listen on (CORRIDOR_LISTEN)"),
		data:      fs.String("data", env("CORRIDOR_DATA", node.DefaultDataDir), "data folder: keys, secrets, the SQLite database (CORRIDOR_DATA)"),
		db:        fs.String("database-url", env("CORRIDOR_DATABASE_URL", ""), "postgres://... to run on PostgreSQL instead of SQLite (CORRIDOR_DATABASE_URL)"),
		country:   fs.String("country", env("CORRIDOR_COUNTRY", ""), "the node's country, ISO 3166-1 alpha-2; names the keys on first start (default KR) (CORRIDOR_COUNTRY)"),
		policy:    fs.String("policy", env("CORRIDOR_POLICY", ""), "corridor policy file (default: the shipped China–Korea policy) (CORRIDOR_POLICY)"),
		authority: fs.String("authority", env("CORRIDOR_AUTHORITY", ""), "the approving authority's name, printed on entry approvals (CORRIDOR_AUTHORITY)"),
		publicURL: fs.String("public-url", env("CORRIDOR_PUBLIC_URL", ""), "the node's address as users reach it, for links (CORRIDOR_PUBLIC_URL)"),
	}
}

func (f nodeFlags) config(logger *slog.Logger) node.Config {
	return node.Config{Listen: *f.listen, DataDir: *f.data, DatabaseURL: *f.db, Country: strings.ToUpper(*f.country),
		PolicyFile: *f.policy, Authority: *f.authority, PublicURL: *f.publicURL, Logger: logger}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve [--listen ADDR] [--data DIR] [--database-url URL] [--country CC] [--policy FILE] [--tls-cert FILE --tls-key FILE --peer-ca FILE]")
	nf := addNodeFlags(fs)
	pf := addPeerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Structured logs on stderr; nothing personal is ever logged (see
	// internal/app/logging.go).
	logger := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := nf.config(logger)
	if err := pf.apply(&cfg); err != nil {
		return err
	}
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	var adminPassword string
	if n.FirstStart {
		email := "admin@" + strings.ToLower(n.Keys.Country) + ".corridor.invalid"
		if adminPassword, err = n.BootstrapAdmin(ctx, email); err != nil {
			logger.Warn("no bootstrap administrator was created; use `corridor admin create`", "err", err)
		} else {
			adminPassword = email + " / " + adminPassword
		}
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	return n.Serve(ctx, func(addr string) {
		fmt.Fprintf(e.stdout, "Corridor node %s serving on %s://%s (data in %s, database %s)\n", n.Keys.Country, scheme, addr, n.Config.DataDir, n.Store.Dialect())
		fmt.Fprintf(e.stdout, "log in at %s://%s/login\n", scheme, addr)
		if adminPassword != "" {
			fmt.Fprintf(e.stdout, "first start: node administrator %s (shown once; change it after logging in)\n", adminPassword)
		}
	})
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "migrate", "migrate [--data DIR] [--database-url URL]")
	nf := addNodeFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openStore(ctx, nf)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s database at schema version %d\n", db.Dialect(), v)
	return nil
}

// openStore opens (and so migrates) the node's database without the rest
// of the node.
func openStore(ctx context.Context, nf nodeFlags) (*sqlstore.DB, error) {
	url := *nf.db
	if url == "" {
		if err := os.MkdirAll(*nf.data, 0o700); err != nil {
			return nil, err
		}
		url = "sqlite:" + *nf.data + "/corridor.db"
	}
	return sqlstore.Open(ctx, url)
}

func runAdmin(ctx context.Context, e *env, args []string) error {
	_, rest, err := subcommand("admin", args, "create")
	if err != nil {
		return err
	}
	fs := newFlags(e, "admin create", "admin create --email ADDR [--name NAME] [--data DIR] [--database-url URL]  (password on standard input)")
	nf := addNodeFlags(fs)
	email := fs.String("email", "", "the administrator's e-mail address (the login)")
	name := fs.String("name", "Node administrator", "the administrator's name")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if err := require(fs, "email"); err != nil {
		return err
	}
	// The password comes on standard input so it never shows in the
	// process list or the shell history.
	pw, err := readSecretLine(e)
	if err != nil {
		return usageErrorf("reading the password from standard input: %v", err)
	}
	n, err := node.Open(ctx, nf.config(nil))
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := n.App.CreateNodeAdmin(ctx, *email, *name, pw); err != nil {
		return usageErrorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "node administrator %s created\n", strings.ToLower(strings.TrimSpace(*email)))
	return nil
}

func readSecretLine(e *env) (string, error) {
	buf := make([]byte, 0, 256)
	one := make([]byte, 1)
	for len(buf) < 1024 {
		n, err := e.stdin.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			buf = append(buf, one[0])
		}
		if err != nil {
			break
		}
	}
	s := strings.TrimRight(string(buf), "\r")
	if s == "" {
		return "", fmt.Errorf("no password given")
	}
	return s, nil
}

func runAudit(ctx context.Context, e *env, args []string) error {
	_, rest, err := subcommand("audit", args, "verify")
	if err != nil {
		return err
	}
	fs := newFlags(e, "audit verify", "audit verify [--data DIR] [--database-url URL]")
	nf := addNodeFlags(fs)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	db, err := openStore(ctx, nf)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	if rep.Problem != nil {
		fmt.Fprintf(e.stdout, "audit log BROKEN after %d entries: %v\n", rep.Checked, rep.Problem)
		return &exitError{code: exitInvalid}
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d entries, head %d\n", rep.Checked, rep.Head.Seq)
	return nil
}
