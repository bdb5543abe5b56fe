package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
)

// peopleOut and peopleIn are the standard streams of the people commands
// (replaced in tests).
var (
	peopleOut io.Writer = os.Stdout
	peopleIn  io.Reader = os.Stdin
)

const userUsage = `usage:
  civicflow user add USERNAME [--name NAME] [--email EMAIL] [--password-stdin] [--role ROLE@DEPT]...
  civicflow user list
  civicflow user grant USERNAME ROLE@DEPT      (DEPT "*" = every department)
  civicflow user revoke USERNAME ROLE@DEPT
  civicflow user passwd USERNAME               (reads the new password from stdin; ends
                                               the user's sessions, revokes their API tokens)
  civicflow user disable|enable USERNAME       (disable also ends sessions, revokes API tokens)
Without --password-stdin the account signs in through OIDC (ProConnect) only.
Passwords: at least 12 characters mixing upper-case letters, lower-case letters,
digits and special characters, or 14 with three of these kinds, or a passphrase
of 7 words (CNIL deliberation 2022-100); common passwords are refused.`

// runUser is "civicflow user add|list|grant|revoke|passwd|disable|enable".
func runUser(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(peopleOut, userUsage)
		if len(args) == 0 {
			return errors.New("missing subcommand")
		}
		return nil
	}
	sub := args[0]
	cfg := config.Default()
	fs := cfg.FlagSet("user "+sub, config.FlagsCommon)
	name := fs.String("name", "", "display name")
	email := fs.String("email", "", "e-mail address (how OIDC sign-ins find the account)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	var roles multiFlag
	fs.Var(&roles, "role", "ROLE@DEPT to grant (repeatable)")
	pos, err := parsePeople(fs, args[1:], &cfg)
	if err != nil {
		return err
	}
	want := map[string]int{"add": 1, "list": 0, "grant": 2, "revoke": 2, "passwd": 1, "disable": 1, "enable": 1}
	n, ok := want[sub]
	if !ok {
		return fmt.Errorf("unknown subcommand %q\n%s", sub, userUsage)
	}
	if len(pos) != n {
		return fmt.Errorf("user %s takes %d argument(s), got %d\n%s", sub, n, len(pos), userUsage)
	}
	st, svc, err := openPeople(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "list":
		return listUsers(ctx, st)
	case "add":
		nu := auth.NewUser{Username: pos[0], DisplayName: *name, Email: *email}
		if *pwStdin {
			if nu.Password, err = readPassword(); err != nil {
				return err
			}
		}
		groups := make([][2]string, 0, len(roles))
		for _, g := range roles {
			role, dept, err := splitGroup(g)
			if err != nil {
				return err
			}
			if err := svc.ValidateGroup(ctx, role, dept); err != nil {
				return err
			}
			groups = append(groups, [2]string{role, dept})
		}
		u, err := svc.CreateUser(ctx, nu)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := svc.Grant(ctx, u.ID, g[0], g[1]); err != nil {
				return err
			}
		}
		cliAudit(ctx, svc, "user.create", u.Username, "", map[string]any{"roles": []string(roles)})
		fmt.Fprintf(peopleOut, "user %s created (id %d)\n", u.Username, u.ID)
		return nil
	}
	u, err := st.UserByUsername(ctx, auth.NormalizeUsername(pos[0]))
	if err != nil {
		return fmt.Errorf("no user %q", pos[0])
	}
	switch sub {
	case "grant", "revoke":
		role, dept, err := splitGroup(pos[1])
		if err != nil {
			return err
		}
		if sub == "grant" {
			err = svc.Grant(ctx, u.ID, role, dept)
		} else {
			err = svc.Revoke(ctx, u.ID, role, dept)
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s does not hold %s@%s", u.Username, role, dept)
		}
		if err != nil {
			return err
		}
		cliAudit(ctx, svc, "membership."+sub, u.Username, dept, map[string]string{"role": role})
		fmt.Fprintf(peopleOut, "%s: %s %s@%s\n", u.Username, map[string]string{"grant": "granted", "revoke": "revoked"}[sub], role, dept)
	case "passwd":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		cliAudit(ctx, svc, "user.password", u.Username, "", map[string]string{"credentials": "sessions ended, API tokens revoked"})
		fmt.Fprintf(peopleOut, "password of %s changed; their sessions are closed and their API tokens revoked\n", u.Username)
	case "disable", "enable":
		if err := svc.SetDisabled(ctx, u.ID, sub == "disable"); err != nil {
			return err
		}
		if sub == "disable" {
			cliAudit(ctx, svc, "user.disable", u.Username, "", map[string]string{"credentials": "sessions ended, API tokens revoked"})
			fmt.Fprintf(peopleOut, "user %s disabled; their sessions are closed and their API tokens revoked\n", u.Username)
			break
		}
		cliAudit(ctx, svc, "user.enable", u.Username, "", nil)
		fmt.Fprintf(peopleOut, "user %s enabled\n", u.Username)
	}
	return nil
}

func listUsers(ctx context.Context, st *store.Store) error {
	us, err := st.Users(ctx)
	if err != nil {
		return err
	}
	ms, err := st.Memberships(ctx)
	if err != nil {
		return err
	}
	groups := map[int64][]string{}
	for _, m := range ms {
		groups[m.UserID] = append(groups[m.UserID], m.Role+"@"+m.Department)
	}
	tw := tabwriter.NewWriter(peopleOut, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tNAME\tE-MAIL\tROLES\tSTATE")
	for _, u := range us {
		state, email := "active", ""
		if u.Disabled {
			state = "disabled"
		}
		if u.Email != nil {
			email = *u.Email
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, email, strings.Join(groups[u.ID], " "), state)
	}
	return tw.Flush()
}

const departmentUsage = `usage:
  civicflow department add SLUG NAME...
  civicflow department list`

// runDepartment is "civicflow department add|list".
func runDepartment(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(peopleOut, departmentUsage)
		if len(args) == 0 {
			return errors.New("missing subcommand")
		}
		return nil
	}
	sub := args[0]
	cfg := config.Default()
	fs := cfg.FlagSet("department "+sub, config.FlagsCommon)
	pos, err := parsePeople(fs, args[1:], &cfg)
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && len(pos) == 0, sub == "add" && len(pos) >= 2:
	case sub == "list" || sub == "add":
		return fmt.Errorf("wrong arguments\n%s", departmentUsage)
	default:
		return fmt.Errorf("unknown subcommand %q\n%s", sub, departmentUsage)
	}
	st, svc, err := openPeople(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "list" {
		ds, err := st.Departments(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(peopleOut, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\n", d.Slug, d.Name)
		}
		return tw.Flush()
	}
	slug := strings.ToLower(pos[0])
	if slug == auth.AllDepartments || strings.ContainsAny(slug, " @/*") {
		return fmt.Errorf("department slug %q: use lower-case letters, digits and dashes", pos[0])
	}
	d := store.Department{Slug: slug, Name: strings.Join(pos[1:], " ")}
	if err := st.CreateDepartment(ctx, d); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("department %s already exists", slug)
		}
		return err
	}
	cliAudit(ctx, svc, "department.create", slug, slug, map[string]string{"name": d.Name})
	fmt.Fprintf(peopleOut, "department %s created\n", slug)
	return nil
}

// runAudit is "civicflow audit verify": exit 0 if the chain is intact,
// else an error naming the first bad entry.
func runAudit(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(peopleOut, "usage: civicflow audit verify [--data DIR] [--db URL]")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			return nil
		}
		return errors.New("unknown or missing subcommand (verify)")
	}
	cfg := config.Default()
	fs := cfg.FlagSet("audit verify", config.FlagsCommon)
	if _, err := parsePeople(fs, args[1:], &cfg); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	bad, err := audit.Verify(ctx, st)
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return fmt.Errorf("the audit log has been tampered with: first bad entry #%d: %s", bad.ID, be.Reason)
	}
	if err != nil {
		return err
	}
	head, err := st.AuditHead(ctx)
	if err != nil {
		return err
	}
	anchor, err := st.AuditAnchor(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(peopleOut, "audit log intact: entries #%d to #%d verified\n", anchor.ID+1, head.ID)
	return nil
}

// parsePeople parses flags given anywhere among the positional arguments,
// then validates the common flags.
func parsePeople(fs *flag.FlagSet, args []string, cfg *config.Config) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	if err := config.Parse(fs, flags, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			config.Usage(peopleOut, fs, "")
		}
		return nil, err
	}
	if err := cfg.Validate(config.FlagsCommon); err != nil {
		return nil, err
	}
	return pos, nil
}

func openPeople(ctx context.Context, cfg config.Config) (*store.Store, *auth.Service, error) {
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	svc, err := auth.New(ctx, st, auth.Options{LoginFailuresPerIP: -1})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, svc, nil
}

func cliAudit(ctx context.Context, svc *auth.Service, action, objID, dept string, detail any) {
	actor := "cli"
	if u := os.Getenv("USER"); u != "" {
		actor = "cli:" + u
	}
	objType := strings.SplitN(action, ".", 2)[0]
	if objType == "membership" {
		objType = "user"
	}
	if err := svc.Audit().Record(ctx, audit.Entry{Actor: actor, Action: action, ObjectType: objType, ObjectID: objID, Department: dept, Detail: audit.Detail(detail)}); err != nil {
		fmt.Fprintf(os.Stderr, "warning: not recorded in the audit log: %v\n", err)
	}
}

func splitGroup(g string) (role, dept string, err error) {
	role, dept, ok := strings.Cut(g, "@")
	if !ok || role == "" || dept == "" {
		return "", "", fmt.Errorf("%q is not ROLE@DEPARTMENT (e.g. agent@voirie, approver@*)", g)
	}
	return role, dept, nil
}

func readPassword() (string, error) {
	line, err := bufio.NewReader(peopleIn).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin: give it on the first line (" + auth.PasswordRules + ")")
	}
	return pw, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
