package examples

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Country is a country the shop delivers to, with its postcode format.
// Postcode is written in the common subset of Go and JavaScript regexp
// syntax: the page hands it to the browser's validation, so both sides
// agree.
type Country struct {
	Code, Name string
	Postcode   string // anchored pattern, matched case-insensitively
	Example    string // a valid postcode, shown as a hint
}

// Countries lists where the shop delivers, in the order of the select.
func Countries() []Country {
	return []Country{
		{"GB", "United Kingdom", `^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$`, "SW1A 1AA"},
		{"DE", "Germany", `^[0-9]{5}$`, "10115"},
		{"FR", "France", `^[0-9]{5}$`, "75001"},
		{"NL", "Netherlands", `^[0-9]{4} ?[A-Z]{2}$`, "1012 AB"},
		{"IE", "Ireland", `^[A-Z][0-9][0-9W] ?[A-Z0-9]{4}$`, "D02 X285"},
		{"ES", "Spain", `^[0-9]{5}$`, "28001"},
		{"SE", "Sweden", `^[0-9]{3} ?[0-9]{2}$`, "111 22"},
		{"US", "United States", `^[0-9]{5}(-[0-9]{4})?$`, "10001"},
	}
}

// emailPattern is a sane check, not RFC 5322: something@host.tld without
// spaces. The page hands it to the browser too.
const emailPattern = `^[^\s@]+@[^\s@]+\.[^\s@]+$`

// Address is what the checkout form collects.
type Address struct {
	Name, Email, Street, City, Postcode, Country string
}

// addressFromForm reads the checkout form's fields.
func addressFromForm(get func(string) string) Address {
	return Address{Name: get("name"), Email: get("email"), Street: get("address"),
		City: get("city"), Postcode: get("postcode"), Country: get("country")}
}

// validate returns a message per bad field, keyed by the field's form name
// (the same name the page's data-test="error-<field>" uses); empty means
// valid.
func (a *Address) validate() map[string]string {
	trim := func(s *string) string { *s = strings.TrimSpace(*s); return *s }
	errs := map[string]string{}
	for _, f := range []struct {
		name, label string
		value       *string
	}{{"name", "your name", &a.Name}, {"email", "your email", &a.Email},
		{"address", "your street address", &a.Street}, {"city", "your town or city", &a.City},
		{"postcode", "your postcode", &a.Postcode}} {
		if trim(f.value) == "" {
			errs[f.name] = "Please enter " + f.label + "."
		}
	}
	if a.Email != "" && !regexp.MustCompile(emailPattern).MatchString(a.Email) {
		errs["email"] = "Please enter an email address like name@example.com."
	}
	var country *Country
	for _, c := range Countries() {
		if c.Code == a.Country {
			country = &c
		}
	}
	if country == nil {
		errs["country"] = "Please choose a country we deliver to."
	} else if a.Postcode != "" && !regexp.MustCompile("(?i)"+country.Postcode).MatchString(a.Postcode) {
		errs["postcode"] = "Please enter a " + country.Name + " postcode, like " + country.Example + "."
	}
	a.Postcode = strings.ToUpper(a.Postcode)
	return errs
}

// TestCard is the only card number the demo shop accepts.
const TestCard = "4242 4242 4242 4242"

// Card is what the payment form collects.
type Card struct {
	Number, Expiry, CVC string
}

// validate returns a message per bad field, keyed like Address.validate;
// now decides whether the expiry date has passed.
func (c Card) validate(now time.Time) map[string]string {
	errs := map[string]string{}
	digits := strings.NewReplacer(" ", "", "-", "").Replace(c.Number)
	switch {
	case !regexp.MustCompile(`^[0-9]{13,19}$`).MatchString(digits):
		errs["card-number"] = "Please enter the 16-digit card number."
	case digits != strings.ReplaceAll(TestCard, " ", ""):
		errs["card-number"] = "Your card was declined. This demo shop only takes the test card " + TestCard + "."
	}
	m := regexp.MustCompile(`^\s*(0[1-9]|1[0-2])\s*/\s*([0-9]{2})\s*$`).FindStringSubmatch(c.Expiry)
	if m == nil {
		errs["card-expiry"] = "Please enter the expiry date as MM/YY."
	} else {
		month, _ := strconv.Atoi(m[1])
		year, _ := strconv.Atoi(m[2])
		// A card is valid until the end of its expiry month.
		end := time.Date(2000+year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)
		if !now.Before(end) {
			errs["card-expiry"] = "This card has expired."
		}
	}
	if !regexp.MustCompile(`^[0-9]{3,4}$`).MatchString(strings.TrimSpace(c.CVC)) {
		errs["card-cvc"] = "Please enter the 3 or 4 digits on the back of the card."
	}
	return errs
}
