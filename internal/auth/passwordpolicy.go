package auth

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The password policy of local accounts follows the CNIL's recommendation
// on passwords (délibération n° 2022-100 du 21 juillet 2022), case of a
// password used alone: about 80 bits of entropy, which it illustrates by
//   - 12 characters or more mixing upper-case letters, lower-case letters,
//     digits and special characters;
//   - 14 characters or more mixing three of these four kinds;
//   - a passphrase of 7 words or more.
//
// On top of that, a password may not be built on a common password (an
// embedded list of the words they are made of, with the digits and symbols
// around them and leetspeak removed), be a repeated pattern or a keyboard
// or alphabet sequence, nor contain the username or the e-mail address.
//
// The demo password (`demo`, or CIVICFLOW_DEMO_PASSWORD) never goes
// through this policy: SeedDemo writes it straight to the store, and
// `serve --demo` only.
const (
	// MinPasswordLen is the shortest password accepted with four kinds of characters.
	MinPasswordLen = 12
	// MinPasswordLen3 is the shortest password accepted with three kinds.
	MinPasswordLen3 = 14
	// MinPassphraseWords is the fewest words of an accepted passphrase.
	MinPassphraseWords = 7
	// MaxPasswordLen bounds what is hashed.
	MaxPasswordLen = 256
)

// PasswordRules is the policy in one sentence, for error messages and help.
const PasswordRules = "use at least 12 characters mixing upper-case letters, lower-case letters, digits and special characters, " +
	"or at least 14 characters with three of these four kinds, or a passphrase of at least 7 words " +
	"(CNIL recommendation, deliberation 2022-100)"

//go:embed common_passwords.txt
var commonPasswordsTxt string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswordsTxt, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = true
		}
	}
	return m
}()

// PasswordRulesFR is PasswordRules in French, for the pages.
const PasswordRulesFR = "au moins 12 caractères mêlant majuscules, minuscules, chiffres et caractères spéciaux, " +
	"ou au moins 14 caractères avec trois de ces quatre types, ou une phrase de passe d'au moins 7 mots " +
	"(recommandation de la CNIL, délibération 2022-100)"

// PasswordError is a password refused by the policy. It wraps ErrInvalid;
// Error is English (API), FR the same in French (pages).
type PasswordError struct {
	msg, fr string
}

func (e *PasswordError) Error() string { return ErrInvalid.Error() + ": " + e.msg }
func (e *PasswordError) Unwrap() error { return ErrInvalid }

// FR is the message in French.
func (e *PasswordError) FR() string { return e.fr }

// CheckPassword tells whether password may protect the local account
// username (email may be empty). The error is a *PasswordError (wrapping
// ErrInvalid) that says what to do; it never repeats the password.
func CheckPassword(password, username, email string) error {
	n := utf8.RuneCountInString(password)
	bad := func(msg, fr string) error { return &PasswordError{msg: msg, fr: fr} }
	switch {
	case password == "":
		return bad("the password is empty", "le mot de passe est vide")
	case !utf8.ValidString(password):
		return bad("the password is not valid UTF-8 text", "le mot de passe contient des caractères invalides")
	case n > MaxPasswordLen:
		return bad(fmt.Sprintf("the password is longer than %d characters", MaxPasswordLen),
			fmt.Sprintf("le mot de passe dépasse %d caractères", MaxPasswordLen))
	case !strongEnough(password, n):
		return bad("the password is too weak: "+PasswordRules, "le mot de passe est trop faible : choisissez-en un de "+PasswordRulesFR)
	case containsIdentity(password, username, email):
		return bad("the password must not contain the username or the e-mail address",
			"le mot de passe ne doit contenir ni l'identifiant ni l'adresse électronique")
	case predictable(password):
		return bad("the password is too common or too predictable (a well-known password or word with digits or symbols around it, "+
			"a repeated pattern, or a keyboard or alphabet sequence): choose another one",
			"le mot de passe est trop courant ou trop prévisible (mot de passe ou mot connu entouré de chiffres ou de symboles, "+
				"motif répété, suite du clavier ou de l'alphabet) : choisissez-en un autre")
	}
	return nil
}

// strongEnough applies the three CNIL examples.
func strongEnough(pw string, n int) bool {
	var lower, upper, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r): // letters without case count as letters
			lower = true
		default:
			special = true
		}
	}
	kinds := 0
	for _, k := range []bool{lower, upper, digit, special} {
		if k {
			kinds++
		}
	}
	switch {
	case n >= MinPasswordLen && kinds == 4, n >= MinPasswordLen3 && kinds >= 3:
		return true
	}
	return isPassphrase(pw)
}

// isPassphrase: at least MinPassphraseWords distinct words of two letters
// or more, and 20 characters or more in all.
func isPassphrase(pw string) bool {
	if utf8.RuneCountInString(pw) < 20 {
		return false
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(pw), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if utf8.RuneCountInString(w) >= 2 {
			words[w] = true
		}
	}
	return len(words) >= MinPassphraseWords
}

func containsIdentity(pw, username, email string) bool {
	p := strings.ToLower(pw)
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	for _, id := range []string{strings.ToLower(username), local} {
		if utf8.RuneCountInString(id) >= 3 && strings.Contains(p, id) {
			return true
		}
	}
	// "marcel.dupont" is also found by its parts ("Dupont-1987!").
	for _, part := range strings.FieldsFunc(strings.ToLower(username), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if utf8.RuneCountInString(part) >= 5 && strings.Contains(p, part) {
			return true
		}
	}
	return false
}

var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba",
	"azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm",
	"01234567890", "09876543210",
}

var leet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "8", "b", "9", "g", "@", "a", "$", "s", "!", "i", "€", "e", "+", "t")

// predictable recognises the shapes that guessing tools try first.
func predictable(pw string) bool {
	s := foldAccents(strings.ToLower(pw))
	distinct := map[rune]bool{}
	for _, r := range s {
		distinct[r] = true
	}
	if len(distinct) < 5 || repeated(s) != "" {
		return true
	}
	// Strip the digits and symbols around the core ("Bonjour2024!" → "bonjour"),
	// keep its letters, as they are and with leetspeak undone ("p@ssw0rd" →
	// "password").
	core := strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	for _, letters := range []string{lettersOf(core), lettersOf(leet.Replace(core))} {
		if commonLetters(letters) {
			return true
		}
	}
	// Six characters or more of a keyboard row, the alphabet or the digits in order.
	for _, seq := range sequences {
		for i := 0; i+6 <= len(seq); i++ {
			if strings.Contains(s, seq[i:i+6]) {
				return true
			}
		}
	}
	return false
}

func lettersOf(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, s)
}

// commonLetters: no letters, a common word, one repeated, or two common words.
func commonLetters(letters string) bool {
	if letters == "" || commonPasswords[letters] {
		return true
	}
	if unit := repeated(letters); unit != "" && (commonPasswords[unit] || utf8.RuneCountInString(unit) <= 3) {
		return true
	}
	for i := 1; i < len(letters); i++ {
		if commonPasswords[letters[:i]] && commonPasswords[letters[i:]] {
			return true
		}
	}
	return false
}

// repeated returns the unit that s repeats (at least twice), or "".
func repeated(s string) string {
	r := []rune(s)
	for u := 1; u <= len(r)/2; u++ {
		if len(r)%u != 0 {
			continue
		}
		unit := string(r[:u])
		if strings.Repeat(unit, len(r)/u) == s {
			return unit
		}
	}
	return ""
}

var accentFolder = strings.NewReplacer(
	"à", "a", "â", "a", "ä", "a", "á", "a", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "í", "i", "ô", "o", "ö", "o", "ó", "o", "ù", "u", "û", "u", "ü", "u", "ú", "u",
	"ÿ", "y", "œ", "oe", "æ", "ae", "ñ", "n",
)

func foldAccents(s string) string { return accentFolder.Replace(s) }
