package guard

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PII detection. Bedrock's detector is an ML model that reads context
// (§4.4); ours is a pattern per entity type, narrowed by a checksum or
// format rule where the type has one, so it is exact on structured
// identifiers and conservative elsewhere:
//
//   - validated: CREDIT_DEBIT_CARD_NUMBER (issuer prefix + Luhn),
//     INTERNATIONAL_BANK_ACCOUNT_NUMBER (country length + ISO 7064 mod-97),
//     US_BANK_ROUTING_NUMBER (Fed prefix + ABA 3-7-1 checksum),
//     US_SOCIAL_SECURITY_NUMBER (SSA area/group/serial rules),
//     US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER (9, 7/8 fourth digit, IRS
//     groups), CA_SOCIAL_INSURANCE_NUMBER (Luhn),
//     UK_NATIONAL_HEALTH_SERVICE_NUMBER (mod-11), UK_NATIONAL_INSURANCE_NUMBER
//     (HMRC prefixes), VEHICLE_IDENTIFICATION_NUMBER (ISO 3779 check digit),
//     IP_ADDRESS (net/netip, IPv4 and IPv6), MAC_ADDRESS (net.ParseMAC),
//     AWS_ACCESS_KEY (key-ID prefixes, base32 body), AWS_SECRET_KEY (40
//     base64 characters mixing three character classes), EMAIL, URL,
//     PHONE (7–15 digits with a +, parentheses or separators, or a phone
//     word nearby), SWIFT_CODE (ISO country; all-letter codes need the word
//     SWIFT or BIC nearby), CREDIT_DEBIT_CARD_EXPIRY (MM/YY, MM/YYYY; "Jan
//     2021" only after an expiry word).
//   - context-keyed (the value must follow its keyword, as in "PIN: 4821"):
//     PIN, CREDIT_DEBIT_CARD_CVV, PASSWORD, USERNAME (also @handles),
//     US_BANK_ACCOUNT_NUMBER, US_PASSPORT_NUMBER, DRIVER_ID, LICENSE_PLATE,
//     CA_HEALTH_NUMBER, UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER, AGE (a number of
//     years followed by "old" or after an age word); an unseparated
//     9-digit SSN or SIN also needs its keyword.
//   - best-effort heuristics: NAME (capitalised words after "my name is",
//     "name:", "call me", a title such as "Dr." or a letter closing) and
//     ADDRESS (US-style street addresses: number, street name, street
//     suffix, optional unit, city, state and ZIP). Bedrock's model finds
//     names and places ours cannot (it has reported "Italy" as ADDRESS).
//
// When detections of different types overlap, the higher-ranked type wins
// (validated identifiers over context-keyed ones, over phone numbers, over
// the heuristics), then the longer span.

// detector finds one entity type.
type detector struct {
	typ   string
	re    *regexp.Regexp
	group int // submatch holding the entity; 0 for the whole match
	rank  int // lower wins an overlap
	// fit refines or rejects a candidate span of text; nil accepts it.
	fit func(text string, start, end int) (int, int, bool)
	// need lists substrings (lower case) one of which any match contains;
	// a text holding none of them skips the regex, which is the costly part.
	need []string
}

// Overlap ranks.
const (
	rankStrong  = 1
	rankContext = 2
	rankFormat  = 3
	rankPhone   = 4
	rankGuess   = 5
)

// ctxRE builds a context-keyed pattern: keyword, separators or "is", then
// the value as group 1.
func ctxRE(keywords, value string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(?:` + keywords + `)\b[\s:=#\-]*(?:(?:is|was|of)\b[\s:=#\-]*)?(` + value + `)`)
}

// accept wraps a whole-candidate check, also requiring the candidate not to
// be glued to a neighbouring letter or digit.
func accept(ok func(string) bool) func(string, int, int) (int, int, bool) {
	return func(text string, s, e int) (int, int, bool) {
		return s, e, isolated(text, s, e) && ok(text[s:e])
	}
}

// isolated reports whether text[s:e] stands alone: no letter or digit right
// before or after it, nor a '.', '-' or '/' joining it to one ("1.2.3.4.5",
// "12/25/2024").
func isolated(text string, s, e int) bool {
	if s > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:s])
		if isAlnum(r) {
			return false
		}
		if strings.ContainsRune(".-/", r) && s-n > 0 {
			if p, _ := utf8.DecodeLastRuneInString(text[:s-n]); isAlnum(p) {
				return false
			}
		}
	}
	if e < len(text) {
		r, n := utf8.DecodeRuneInString(text[e:])
		if isAlnum(r) {
			return false
		}
		if strings.ContainsRune(".-/", r) && e+n < len(text) {
			if p, _ := utf8.DecodeRuneInString(text[e+n:]); isAlnum(p) {
				return false
			}
		}
	}
	return true
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// near reports whether one of the keywords occurs in the window bytes
// before s (case-insensitively).
func near(text string, s, window int, keywords ...string) bool {
	lo := max(0, s-window)
	before := strings.ToLower(text[lo:s])
	for _, k := range keywords {
		if strings.Contains(before, k) {
			return true
		}
	}
	return false
}

// trimTail drops trailing sentence punctuation from a free-form value.
func trimTail(text string, s, e int) (int, int, bool) {
	for e > s && strings.ContainsRune(".,;:!?)]}'\"", rune(text[e-1])) {
		e--
	}
	return s, e, e > s
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

var (
	yearMonthDay = regexp.MustCompile(`^\d{4}[-./]\d{1,2}[-./]\d{1,2}$`)
	phoneWords   = []string{"phone", "tel", "call", "mobile", "cell", "fax", "pager", "contact", "number", "text me", "whatsapp"}
)

// allDetectors is compiled once and never modified.
var allDetectors = withNeeds(piiDetectors())

var digitChars = strings.Split("0123456789", "")

// detectorNeeds are the prefilters of each type's patterns: its keywords,
// or the characters every match holds.
var detectorNeeds = map[string][]string{
	"AGE": digitChars, "EMAIL": {"@"}, "PHONE": digitChars, "USERNAME": {"user", "login", "handle", "screen", "account", "@"},
	"PASSWORD": {"pass", "pwd"}, "DRIVER_ID": {"driv", "dl"}, "LICENSE_PLATE": {"plate", "reg"},
	"VEHICLE_IDENTIFICATION_NUMBER": digitChars, "CREDIT_DEBIT_CARD_CVV": {"cvv", "cvc", "cid", "csc", "security code", "verification"},
	"CREDIT_DEBIT_CARD_EXPIRY": {"/", "exp", "valid", "good"}, "CREDIT_DEBIT_CARD_NUMBER": digitChars, "PIN": {"pin"},
	"INTERNATIONAL_BANK_ACCOUNT_NUMBER": digitChars, "IP_ADDRESS": {".", ":"}, "MAC_ADDRESS": {":", "-", "."},
	"URL": {"http", "www.", "ftp://"}, "AWS_ACCESS_KEY": {"a"}, "US_BANK_ACCOUNT_NUMBER": {"account", "acct", "a/c"},
	"US_BANK_ROUTING_NUMBER": digitChars, "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER": {"9"}, "US_PASSPORT_NUMBER": {"passport"},
	"US_SOCIAL_SECURITY_NUMBER": digitChars, "CA_HEALTH_NUMBER": {"health", "ohip", "hcn", "phn"}, "CA_SOCIAL_INSURANCE_NUMBER": digitChars,
	"UK_NATIONAL_HEALTH_SERVICE_NUMBER": digitChars, "UK_NATIONAL_INSURANCE_NUMBER": digitChars,
	"UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER": {"utr", "taxpayer", "tax reference"}, "ADDRESS": digitChars,
	"NAME": {"name", "call me", "regards", "sincerely", "thanks", "mr", "ms", "miss", "dr", "prof"},
}

func withNeeds(ds []detector) []detector {
	for i := range ds {
		ds[i].need = detectorNeeds[ds[i].typ]
	}
	return ds
}

// piiDetectors returns the detectors for every PII entity type, in the
// order of the model's enum (several types have more than one pattern).
func piiDetectors() []detector {
	const sep = `[ \-]?`
	return []detector{
		{typ: "ADDRESS", rank: rankGuess, re: regexp.MustCompile(`\b\d{1,6}\s+(?:[A-Z][A-Za-z0-9']*\.?\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq)\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit)\.?\s*#?[A-Za-z0-9\-]+)?(?:,\s*[A-Z][A-Za-z]+(?:\s[A-Z][A-Za-z]+){0,2})?(?:,\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?\b)?`)},
		{typ: "AGE", rank: rankGuess, group: 1, re: regexp.MustCompile(`(?i)\b(\d{1,3}[ \-]?(?:years?|yrs?))[ \-]old\b`), fit: validAge},
		{typ: "AGE", rank: rankGuess, group: 1, re: ctxRE(`age|aged|i am|i'm|turned|turning`, `\d{1,3}(?:[ \-]?(?:years?|yrs?))?\b`), fit: validAge},
		{typ: "NAME", rank: rankGuess, group: 1, re: regexp.MustCompile(`(?:(?i:my name is|my name's|name:|call me|regards,|sincerely,|thanks,)\s*|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+)([A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2})\b`)},
		{typ: "EMAIL", rank: rankStrong, re: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b`), fit: accept(validEmail)},
		{typ: "PHONE", rank: rankPhone, re: regexp.MustCompile(`(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?|\(\d{1,4}\)[ .\-]?|\b)\d{2,4}(?:[ .\-]?\d{2,4}){1,4}\b`), fit: fitPhone},
		{typ: "USERNAME", rank: rankContext, group: 1, re: ctxRE(`user ?name|login(?: name| id)?|user ?id|handle|screen ?name|account name`, `[A-Za-z0-9._@\-]{2,64}`), fit: trimTail},
		{typ: "USERNAME", rank: rankContext, group: 1, re: regexp.MustCompile(`(?:^|[^\w@.])(@[A-Za-z0-9_]{2,30})\b`)},
		// A password needs a connector ("password: …", "password is …"), so
		// "my password was reset" is not a hit.
		{typ: "PASSWORD", rank: rankContext, group: 1, re: regexp.MustCompile(`(?i)\b(?:password|passwd|pwd|passcode|pass phrase|passphrase)\s*(?::|=|\bis\b)\s*["']?(\S{4,64})`), fit: trimTail},
		{typ: "DRIVER_ID", rank: rankContext, group: 1, re: ctxRE(`driver'?s? ?licen[cs]e(?: number| no\.?| id)?|driving licen[cs]e(?: number| no\.?)?|dl(?: number| no\.?)?`, `[A-Z0-9][A-Z0-9\-]{4,18}[A-Z0-9]\b`), fit: fitHasDigit},
		{typ: "LICENSE_PLATE", rank: rankContext, group: 1, re: ctxRE(`licen[cs]e plate(?: number)?|number plate|plate(?: number)?|registration(?: number)?|reg(?: no\.?)?`, `[A-Z0-9]{1,4}[ \-]?[A-Z0-9]{1,4}\b`), fit: fitPlate},
		{typ: "VEHICLE_IDENTIFICATION_NUMBER", rank: rankStrong, re: regexp.MustCompile(`(?i)\b[A-HJ-NPR-Z0-9]{17}\b`), fit: accept(validVIN)},
		{typ: "CREDIT_DEBIT_CARD_CVV", rank: rankContext, group: 1, re: ctxRE(`cvv2?|cvc2?|cid|csc|security code|card verification(?: value| code)?`, `\d{3,4}\b`)},
		{typ: "CREDIT_DEBIT_CARD_EXPIRY", rank: rankFormat, re: regexp.MustCompile(`\b(?:0[1-9]|1[0-2]) ?/ ?(?:20)?\d{2}\b`), fit: accept(func(string) bool { return true })},
		{typ: "CREDIT_DEBIT_CARD_EXPIRY", rank: rankContext, group: 1, re: ctxRE(`exp|expiry|expires|expiration|expiration date|valid thru|good thru`, `(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.? (?:20)?\d{2}\b`)},
		{typ: "CREDIT_DEBIT_CARD_NUMBER", rank: rankStrong, re: regexp.MustCompile(`\b(?:\d[ \-]?){12,18}\d\b`), fit: accept(validCard)},
		{typ: "PIN", rank: rankContext, group: 1, re: ctxRE(`pin(?: code| number| no\.?)?`, `\d{4,5}\b`)},
		{typ: "INTERNATIONAL_BANK_ACCOUNT_NUMBER", rank: rankStrong, re: regexp.MustCompile(`(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}`), fit: fitIBAN},
		{typ: "SWIFT_CODE", rank: rankFormat, re: regexp.MustCompile(`\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b`), fit: func(text string, s, e int) (int, int, bool) {
			return s, e, validSWIFT(text[s:e], near(text, s, 40, "swift", "bic"))
		}},
		{typ: "IP_ADDRESS", rank: rankStrong, re: regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`), fit: accept(validIP)},
		{typ: "IP_ADDRESS", rank: rankStrong, re: regexp.MustCompile(`(?i)(?:[0-9a-f]{1,4}:|::)(?:[0-9a-f]{0,4}:){1,6}[0-9a-f]{1,4}\b`), fit: accept(validIP)},
		{typ: "MAC_ADDRESS", rank: rankStrong, re: regexp.MustCompile(`(?i)\b[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b`), fit: accept(validMAC)},
		{typ: "URL", rank: rankStrong, re: regexp.MustCompile("(?i)\\b(?:https?://|ftp://|www\\.)[^\\s<>\"'`]+"), fit: trimTail},
		{typ: "AWS_ACCESS_KEY", rank: rankStrong, re: regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z2-7]{16}\b`)},
		{typ: "AWS_SECRET_KEY", rank: rankStrong, re: regexp.MustCompile(`[A-Za-z0-9/+]{40,}`), fit: fitSecretKey},
		{typ: "US_BANK_ACCOUNT_NUMBER", rank: rankContext, group: 1, re: ctxRE(`(?:bank |checking |savings )?(?:account|acct|a/c)(?: number| no\.?| #)?`, `\d{6,17}\b`)},
		{typ: "US_BANK_ROUTING_NUMBER", rank: rankFormat, re: regexp.MustCompile(`\b\d{9}\b`), fit: accept(validABA)},
		{typ: "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", rank: rankFormat, re: regexp.MustCompile(`\b9\d{2}` + sep + `[78]\d` + sep + `\d{4}\b`), fit: accept(validITIN)},
		{typ: "US_PASSPORT_NUMBER", rank: rankContext, group: 1, re: ctxRE(`passport(?: number| no\.?| #)?`, `[A-Z0-9]{6,9}\b`), fit: fitHasDigit},
		{typ: "US_SOCIAL_SECURITY_NUMBER", rank: rankFormat, re: regexp.MustCompile(`\b\d{3}` + sep + `\d{2}` + sep + `\d{4}\b`), fit: keyedIfBare(validSSN, "ssn", "social security", "ss#")},
		{typ: "CA_HEALTH_NUMBER", rank: rankContext, group: 1, re: ctxRE(`health (?:card|number|insurance number)(?: number)?|ohip(?: number)?|hcn|phn`, `\d{4}`+sep+`\d{3}`+sep+`\d{3}(?:`+sep+`[A-Z]{2})?\b`)},
		{typ: "CA_SOCIAL_INSURANCE_NUMBER", rank: rankFormat, re: regexp.MustCompile(`\b\d{3}` + sep + `\d{3}` + sep + `\d{3}\b`), fit: keyedIfBare(validSIN, "sin", "social insurance", "nas")},
		{typ: "UK_NATIONAL_HEALTH_SERVICE_NUMBER", rank: rankFormat, re: regexp.MustCompile(`\b\d{3}` + sep + `\d{3}` + sep + `\d{4}\b`), fit: accept(validNHS)},
		{typ: "UK_NATIONAL_INSURANCE_NUMBER", rank: rankFormat, re: regexp.MustCompile(`(?i)\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]` + sep + `\d{2}` + sep + `\d{2}` + sep + `\d{2}` + sep + `[A-D]\b`), fit: accept(validNINO)},
		{typ: "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", rank: rankContext, group: 1, re: ctxRE(`utr|unique taxpayer reference|tax reference`, `\d{5} ?\d{5}\b`)},
	}
}

// PIITypes returns the 31 PII entity types Bedrock lists (§1.6), sorted.
func PIITypes() []string {
	return []string{
		"ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
		"CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
		"INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD",
		"PHONE", "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
		"UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
		"US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "USERNAME",
		"VEHICLE_IDENTIFICATION_NUMBER",
	}
}

func validAge(text string, s, e int) (int, int, bool) {
	d := digitsOf(text[s:e])
	n := 0
	for i := 0; i < len(d); i++ {
		n = n*10 + int(d[i]-'0')
	}
	return s, e, d != "" && n <= 130
}

func fitHasDigit(text string, s, e int) (int, int, bool) { return s, e, hasDigit(text[s:e]) }

func fitPlate(text string, s, e int) (int, int, bool) {
	n := len(strings.NewReplacer(" ", "", "-", "").Replace(text[s:e]))
	return s, e, n >= 5 && n <= 8 && hasDigit(text[s:e])
}

// fitPhone needs a phone-like shape: a leading + or parentheses, a
// separator between groups, or a phone word just before; and rejects dates.
func fitPhone(text string, s, e int) (int, int, bool) {
	m := text[s:e]
	if !isolated(text, s, e) || !validPhone(m) || yearMonthDay.MatchString(m) {
		return s, e, false
	}
	shaped := strings.ContainsAny(m, "+(") || strings.ContainsAny(strings.TrimSpace(m), " .-")
	return s, e, shaped || near(text, s, 30, phoneWords...)
}

func fitIBAN(text string, s, e int) (int, int, bool) {
	n := trimIBAN(text[s:e])
	if n == 0 || !isolated(text, s, s+n) {
		return s, e, false
	}
	return s, s + n, true
}

func fitSecretKey(text string, s, e int) (int, int, bool) {
	if e-s != 40 || (s > 0 && strings.ContainsRune("=_-", rune(text[s-1]))) || (e < len(text) && isAlnum(rune(text[e]))) {
		return s, e, false
	}
	return s, e, validSecretKey(text[s:e])
}

// keyedIfBare accepts a separated number on its own, but a bare run of
// digits only after one of its keywords, since nine digits alone could be
// any of several identifiers.
func keyedIfBare(ok func(string) bool, keywords ...string) func(string, int, int) (int, int, bool) {
	return func(text string, s, e int) (int, int, bool) {
		m := text[s:e]
		if !isolated(text, s, e) || !ok(m) {
			return s, e, false
		}
		return s, e, strings.ContainsAny(m, " -") || near(text, s, 40, keywords...)
	}
}

// span is one detection in a text.
type span struct {
	start, end int
	typ        string
	rank       int
}

// piiFinder runs the detectors of the configured types.
type piiFinder struct {
	detectors []detector
}

func newPIIFinder(types []string) *piiFinder {
	var f piiFinder
	for _, d := range allDetectors {
		if slices.Contains(types, d.typ) {
			f.detectors = append(f.detectors, d)
		}
	}
	return &f
}

// find returns the entities in text, ordered by position, with overlaps
// between types resolved by rank then length.
func (f *piiFinder) find(text string) []span {
	var all []span
	lower := strings.ToLower(text)
	for _, d := range f.detectors {
		if d.need != nil && !slices.ContainsFunc(d.need, func(n string) bool { return strings.Contains(lower, n) }) {
			continue
		}
		for _, m := range d.re.FindAllStringSubmatchIndex(text, -1) {
			s, e := m[2*d.group], m[2*d.group+1]
			if s < 0 || s == e {
				continue
			}
			ok := true
			if d.fit != nil {
				s, e, ok = d.fit(text, s, e)
			}
			if ok {
				all = append(all, span{start: s, end: e, typ: d.typ, rank: d.rank})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b span) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return (b.end - b.start) - (a.end - a.start)
	})
	var kept []span
	for _, c := range all {
		if !slices.ContainsFunc(kept, func(k span) bool { return c.start < k.end && k.start < c.end }) {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(a, b span) int { return a.start - b.start })
	return kept
}
