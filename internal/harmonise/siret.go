package harmonise

// This file holds the SIREN/SIRET checks. They are pure functions over strings
// with no dependency on the rest of the package, so the tableschema validator
// (custom checks french-siret-value / french-siren-value, or "siret" / "siren"
// in newer Validata) may import them or copy them verbatim.
//
// Rules (python-stdnum stdnum/fr/siren.py and stdnum/fr/siret.py):
//   - SIREN: exactly 9 ASCII digits, Luhn checksum valid.
//   - SIRET: exactly 14 ASCII digits (SIREN + 5-digit NIC). The first 9 digits
//     must be a valid SIREN, and the 14 digits must pass Luhn, except for La
//     Poste: SIRETs starting with 356000000 (the La Poste SIREN), other than the
//     head office 35600000000048, only need the sum of their digits to be a
//     multiple of 5.

// laPosteSIREN is the SIREN of La Poste, whose establishments are numbered
// outside the Luhn rule.
const laPosteSIREN = "356000000"

// laPosteHeadOffice is the one La Poste SIRET that follows the Luhn rule.
const laPosteHeadOffice = "35600000000048"

// ValidSIREN reports whether s is a valid SIREN: 9 ASCII digits passing Luhn.
// It does not trim or strip spaces; harmonise a value first.
func ValidSIREN(s string) bool {
	return len(s) == 9 && allDigits(s) && luhn(s)
}

// ValidSIRET reports whether s is a valid SIRET: 14 ASCII digits whose first 9
// form a valid SIREN and which pass Luhn, or, for La Poste establishments
// (prefix 356000000 except the head office 35600000000048), whose digit sum is
// a multiple of 5. It does not trim or strip spaces.
func ValidSIRET(s string) bool {
	if len(s) != 14 || !allDigits(s) {
		return false
	}
	if !ValidSIREN(s[:9]) {
		return false
	}
	if s[:9] == laPosteSIREN && s != laPosteHeadOffice {
		sum := 0
		for i := 0; i < len(s); i++ {
			sum += int(s[i] - '0')
		}
		return sum%5 == 0
	}
	return luhn(s)
}

// luhn reports whether the ASCII digit string s passes the Luhn checksum.
// Leading zeros do not change the result.
func luhn(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
