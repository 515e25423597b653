package guard

import (
	"math/big"
	"net"
	"net/netip"
	"strings"
)

// Checksums and format rules for the PII types that have one. Each takes
// the candidate exactly as matched and reports whether it is valid.

// digitsOf returns the ASCII digits of s, dropping separators.
func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// luhn is the mod-10 check of card numbers (ISO/IEC 7812) and Canadian SINs.
func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return len(d) > 0 && sum%10 == 0
}

// sameSeparators reports whether s uses at most one kind of separator
// (space or dash) between its digit groups: "123-45 6789" is rejected.
func sameSeparators(s string) bool {
	var sep byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' || c == '.' {
			if sep != 0 && c != sep {
				return false
			}
			sep = c
		}
	}
	return true
}

// validCard: 13–19 digits (AWS says 13–16; longer PANs exist), a known
// issuer prefix, and a Luhn check digit.
func validCard(m string) bool {
	d := digitsOf(m)
	if len(d) < 13 || len(d) > 19 || !sameSeparators(m) || !luhn(d) {
		return false
	}
	switch {
	case d[0] == '4': // Visa
		return true
	case d[:2] >= "51" && d[:2] <= "55", d[:4] >= "2221" && d[:4] <= "2720": // Mastercard
		return true
	case d[:2] == "34", d[:2] == "37": // Amex
		return len(d) == 15
	case d[0] == '6': // Discover, UnionPay, Maestro
		return true
	case d[:2] == "35", d[:2] == "30", d[:2] == "36", d[:2] == "38", d[:2] == "50", d[:2] == "56", d[:2] == "57", d[:2] == "58":
		return true // JCB, Diners, Maestro
	}
	return false
}

// ibanLengths is each country's IBAN length (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// ibanMod97 is ISO 7064 MOD 97-10 over the rearranged IBAN.
func ibanMod97(iban string) bool {
	var b strings.Builder
	rearranged := iban[4:] + iban[:4]
	for i := 0; i < len(rearranged); i++ {
		c := rearranged[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			n := int(c-'A') + 10
			b.WriteByte(byte('0' + n/10))
			b.WriteByte(byte('0' + n%10))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// trimIBAN finds the IBAN at the start of a candidate that may have run on
// into the following words ("DE89 3704 … 00 is mine"): it keeps exactly the
// country's length of characters (or, for a country not in the table, the
// longest prefix of 15–34 that passes mod-97) and returns the byte length of
// that prefix in m, or 0 when there is none.
func trimIBAN(m string) int {
	upper := strings.ToUpper(m)
	want := ibanLengths[upper[:2]]
	var compact []byte
	var ends []int // ends[i] = byte end in m of compact[:i+1]
	for i := 0; i < len(upper); i++ {
		if upper[i] == ' ' {
			continue
		}
		compact = append(compact, upper[i])
		ends = append(ends, i+1)
	}
	for n := min(len(compact), 34); n >= 15; n-- {
		if want != 0 && n != want {
			continue
		}
		if ibanMod97(string(compact[:n])) {
			return ends[n-1]
		}
	}
	return 0
}

// validABA: 9 digits, a Federal Reserve prefix, and the ABA 3-7-1 checksum.
func validABA(m string) bool {
	d := digitsOf(m)
	if len(d) != 9 {
		return false
	}
	p := d[:2]
	if !(p <= "12" || (p >= "21" && p <= "32") || (p >= "61" && p <= "72") || p == "80") {
		return false
	}
	w := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i := range 9 {
		sum += w[i] * int(d[i]-'0')
	}
	return sum%10 == 0
}

// validSSN applies the SSA's rules: area not 000, 666 or 9xx; group not 00;
// serial not 0000; separators consistent.
func validSSN(m string) bool {
	d := digitsOf(m)
	if len(d) != 9 || !sameSeparators(m) {
		return false
	}
	area, group, serial := d[:3], d[3:5], d[5:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validITIN: 9 digits starting with 9, fourth digit 7 or 8 (§1.6), and the
// IRS's group ranges 50–65, 70–88, 90–92, 94–99.
func validITIN(m string) bool {
	d := digitsOf(m)
	if len(d) != 9 || d[0] != '9' || !sameSeparators(m) {
		return false
	}
	g := d[3:5]
	return (g >= "50" && g <= "65") || (g >= "70" && g <= "88") || (g >= "90" && g <= "92") || (g >= "94" && g <= "99")
}

// validSIN: 9 digits, Luhn, first digit not 0 or 8 (unassigned).
func validSIN(m string) bool {
	d := digitsOf(m)
	return len(d) == 9 && d[0] != '0' && d[0] != '8' && sameSeparators(m) && luhn(d)
}

// validNHS is the NHS mod-11 check: weights 10..2 over the first nine
// digits; check = 11 - sum%11, 11 meaning 0 and 10 meaning invalid.
func validNHS(m string) bool {
	d := digitsOf(m)
	if len(d) != 10 || !sameSeparators(m) {
		return false
	}
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(d[9]-'0')
}

// validNINO rejects the prefixes HMRC never issues.
func validNINO(m string) bool {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(m))
	switch s[:2] {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return true
}

// vinValues are ISO 3779 transliteration values; I, O and Q never occur.
var vinValues = map[byte]int{
	'A': 1, 'B': 2, 'C': 3, 'D': 4, 'E': 5, 'F': 6, 'G': 7, 'H': 8, 'J': 1, 'K': 2, 'L': 3, 'M': 4,
	'N': 5, 'P': 7, 'R': 9, 'S': 2, 'T': 3, 'U': 4, 'V': 5, 'W': 6, 'X': 7, 'Y': 8, 'Z': 9,
}

// validVIN checks the check digit in position 9 (49 CFR 565), which every
// North American VIN carries, and requires both letters and digits.
func validVIN(m string) bool {
	s := strings.ToUpper(m)
	if len(s) != 17 {
		return false
	}
	weights := [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	sum, letters := 0, 0
	for i := 0; i < 17; i++ {
		c := s[i]
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		default:
			var ok bool
			if v, ok = vinValues[c]; !ok {
				return false
			}
			letters++
		}
		sum += v * weights[i]
	}
	if letters == 0 || letters == 17 {
		return false
	}
	check := byte('0' + sum%11)
	if sum%11 == 10 {
		check = 'X'
	}
	return s[8] == check
}

// validIP accepts what net/netip parses: dotted IPv4 without leading zeros,
// and IPv6.
func validIP(m string) bool {
	_, err := netip.ParseAddr(m)
	return err == nil
}

// validMAC accepts EUI-48 in colon, dash or dotted form with one separator.
func validMAC(m string) bool {
	if strings.Contains(m, ":") && strings.Contains(m, "-") {
		return false
	}
	hw, err := net.ParseMAC(m)
	return err == nil && len(hw) == 6
}

// validSecretKey: a 40-character base64 string that mixes at least three of
// upper case, lower case, digits and / or +, which rules out hex digests
// and words.
func validSecretKey(m string) bool {
	var up, low, dig, sym int
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c >= 'A' && c <= 'Z':
			up = 1
		case c >= 'a' && c <= 'z':
			low = 1
		case c >= '0' && c <= '9':
			dig = 1
		default:
			sym = 1
		}
	}
	return up+low+dig+sym >= 3
}

// validEmail rejects dots at the edges or doubled in the local part or domain.
func validEmail(m string) bool {
	local, domain, ok := strings.Cut(m, "@")
	return ok && local != "" && !strings.HasPrefix(local, ".") && !strings.HasSuffix(local, ".") &&
		!strings.Contains(local, "..") && !strings.Contains(domain, "..") && !strings.HasPrefix(domain, ".") &&
		!strings.HasPrefix(domain, "-")
}

// validPhone: 7 to 15 digits (E.164 allows at most 15), not all the same.
func validPhone(m string) bool {
	d := digitsOf(m)
	return len(d) >= 7 && len(d) <= 15 && strings.Count(d, d[:1]) != len(d)
}

// isoCountries are ISO 3166-1 alpha-2 codes, for SWIFT codes' country part.
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"

// validSWIFT: a real country code in positions 5–6, and location and branch
// characters that are not all letters unless the context names a BIC or SWIFT
// code (plain upper-case words such as "CUSTOMER" look like BICs).
func validSWIFT(m string, context bool) bool {
	if !strings.Contains(isoCountries, m[4:6]) || len(m[4:6]) != 2 {
		return false
	}
	if context {
		return true
	}
	return strings.ContainsAny(m[6:], "0123456789")
}
