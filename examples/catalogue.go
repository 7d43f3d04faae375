package examples

import (
	"fmt"
	"html/template"
	"strings"
)

// Product is one item of the demo shop's catalogue.
type Product struct {
	Slug        string // URL and data-test name: /product/{slug}, add-{slug}
	Name        string
	Tagline     string // one line on the product card
	Description string
	Pence       int           // price in pence
	Image       template.HTML // inline SVG
}

// Price formats the product's price, e.g. "£24.50".
func (p Product) Price() string { return money(p.Pence) }

func money(pence int) string { return fmt.Sprintf("£%d.%02d", pence/100, pence%100) }

// Catalogue returns the shop's products in display order. It is a function,
// not a variable, so nothing can change the shop's stock by accident.
func Catalogue() []Product {
	return []Product{
		{"backpack", "Trail backpack", "28 litres, rain cover included",
			"A 28-litre daypack with a padded hip belt, a hydration sleeve and a bright rain cover tucked in the base. Made for long days on the hill.",
			6400, svgBackpack},
		{"bike-light", "Bike light", "USB-C rechargeable, 400 lumens",
			"A 400-lumen front light that charges over USB-C and clips on in seconds. Four modes, including a daylight flash that cars actually notice.",
			2450, svgBikeLight},
		{"water-bottle", "Steel water bottle", "750 ml, keeps cold for 24 hours",
			"Double-walled stainless steel with a leak-proof cap. Keeps water cold for a day and tea warm for a morning.",
			1800, svgBottle},
		{"rain-jacket", "Rain jacket", "Waterproof, breathable, packs small",
			"A three-layer waterproof shell with taped seams, pit zips and a hood that moves with your head. Packs into its own pocket.",
			8900, svgJacket},
		{"tent", "Two-person tent", "Lightweight, 1.9 kg, pitches in 5 minutes",
			"A lightweight freestanding tent for two with two doors, two porches and a fly that pitches first when the weather turns.",
			19900, svgTent},
		{"torch", "Pocket torch", "Bright LED light, AA battery",
			"A pocket-sized aluminium torch with a bright LED light, a lanyard and a beam you can focus from flood to spot.",
			1500, svgTorch},
		{"wool-socks", "Merino socks", "Cushioned, two pairs",
			"Cushioned merino hiking socks that stay warm when wet and do not smell after three days. Two pairs per pack.",
			1200, svgSocks},
		{"map-case", "Map case", "Clear, waterproof, with neck cord",
			"A clear waterproof case that fits a folded OS map, with a soft neck cord and a roll-top seal.",
			950, svgMapCase},
		{"camp-mug", "Enamel camp mug", "350 ml, goes on the stove",
			"A classic enamel mug that goes straight on the stove. Chips add character.",
			800, svgMug},
		{"sleeping-bag", "Sleeping bag", "Three seasons, comfort 2 °C",
			"A three-season sleeping bag with a comfort rating of 2 °C, a draught collar and a compression sack.",
			11900, svgSleepingBag},
	}
}

// findProduct returns the product with the slug.
func findProduct(slug string) (Product, bool) {
	for _, p := range Catalogue() {
		if p.Slug == slug {
			return p, true
		}
	}
	return Product{}, false
}

// searchProducts returns the products whose name, tagline or description
// contains every word of the query, case-insensitively.
func searchProducts(q string) []Product {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	var found []Product
	for _, p := range Catalogue() {
		text := strings.ToLower(p.Name + " " + p.Tagline + " " + p.Description)
		all := true
		for _, w := range words {
			all = all && strings.Contains(text, w)
		}
		if all {
			found = append(found, p)
		}
	}
	return found
}

// The product pictures: small, flat, distinct inline SVGs on a 120×120 canvas.
const (
	svgBackpack    template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Trail backpack"><rect width="120" height="120" rx="16" fill="#fde7c8"/><path d="M45 30a15 15 0 0 1 30 0" fill="none" stroke="#7c3f12" stroke-width="6"/><rect x="32" y="30" width="56" height="70" rx="16" fill="#e8692c"/><rect x="40" y="62" width="40" height="26" rx="7" fill="#c2501d"/><rect x="46" y="40" width="28" height="6" rx="3" fill="#fbd38d"/><circle cx="60" cy="75" r="3" fill="#fbd38d"/></svg>`
	svgBikeLight   template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Bike light"><rect width="120" height="120" rx="16" fill="#dff3ff"/><path d="M78 44l30-14v60l-30-14z" fill="#fff59d" opacity=".9"/><rect x="22" y="42" width="58" height="36" rx="14" fill="#1f2937"/><circle cx="74" cy="60" r="13" fill="#fde047"/><circle cx="74" cy="60" r="7" fill="#fff"/><rect x="32" y="78" width="16" height="16" rx="3" fill="#374151"/><circle cx="36" cy="52" r="3" fill="#22c55e"/></svg>`
	svgBottle      template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Steel water bottle"><rect width="120" height="120" rx="16" fill="#e0f2f1"/><rect x="50" y="16" width="20" height="12" rx="3" fill="#0f766e"/><path d="M46 34q0-6 6-6h16q6 0 6 6v66q0 8-8 8H54q-8 0-8-8z" fill="#14b8a6"/><rect x="46" y="56" width="28" height="22" fill="#5eead4"/><rect x="52" y="38" width="4" height="56" rx="2" fill="#ccfbf1" opacity=".7"/></svg>`
	svgJacket      template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Rain jacket"><rect width="120" height="120" rx="16" fill="#ede9fe"/><path d="M44 22l16 10 16-10 22 14 8 40-14 4-4-18v50H36V62l-4 18-14-4 8-40z" fill="#7c3aed"/><path d="M60 32v72" stroke="#ddd6fe" stroke-width="3"/><path d="M44 22q16 18 32 0" fill="#5b21b6"/><rect x="40" y="72" width="12" height="4" rx="2" fill="#ddd6fe"/><rect x="68" y="72" width="12" height="4" rx="2" fill="#ddd6fe"/></svg>`
	svgTent        template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Two-person tent"><rect width="120" height="120" rx="16" fill="#e6f4dc"/><circle cx="92" cy="28" r="10" fill="#facc15"/><path d="M10 96h100" stroke="#4d7c0f" stroke-width="4"/><path d="M60 30L16 96h88z" fill="#16a34a"/><path d="M60 30l-14 66h28z" fill="#14532d"/><path d="M60 30L46 96" stroke="#bbf7d0" stroke-width="2"/></svg>`
	svgTorch       template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Pocket torch"><rect width="120" height="120" rx="16" fill="#fef3c7"/><path d="M74 46l34-18v64l-34-18z" fill="#fde68a"/><rect x="16" y="50" width="44" height="20" rx="6" fill="#dc2626"/><path d="M58 44h14q4 0 4 4v24q0 4-4 4H58z" fill="#991b1b"/><rect x="28" y="56" width="10" height="8" rx="2" fill="#fecaca"/></svg>`
	svgSocks       template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Merino socks"><rect width="120" height="120" rx="16" fill="#fce7f3"/><path d="M34 18h24v52q0 8 6 12l10 6q8 6 2 14t-16 2L36 88q-10-6-6-18l4-16z" fill="#db2777"/><rect x="34" y="18" width="24" height="10" fill="#9d174d"/><path d="M34 40h24M34 50h24" stroke="#fbcfe8" stroke-width="4"/><path d="M62 18h24v52q0 8 6 12l4 3" fill="none" stroke="#f472b6" stroke-width="6" opacity=".6"/></svg>`
	svgMapCase     template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Map case"><rect width="120" height="120" rx="16" fill="#e0e7ff"/><path d="M36 14q24 26 48 0" fill="none" stroke="#1e3a8a" stroke-width="3"/><rect x="24" y="28" width="72" height="78" rx="8" fill="#bfdbfe" stroke="#3b82f6" stroke-width="3"/><path d="M34 40l16 8 16-8 18 8v46l-18-8-16 8-16-8z" fill="#fef9c3"/><path d="M38 70q10-14 22-4t22-8" fill="none" stroke="#16a34a" stroke-width="3"/><circle cx="66" cy="58" r="3" fill="#dc2626"/></svg>`
	svgMug         template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Enamel camp mug"><rect width="120" height="120" rx="16" fill="#f1f5f9"/><path d="M80 48h8a12 12 0 0 1 0 24h-8" fill="none" stroke="#1d4ed8" stroke-width="7"/><path d="M30 40h52v46q0 12-12 12H42q-12 0-12-12z" fill="#2563eb"/><ellipse cx="56" cy="40" rx="26" ry="5" fill="#1e3a8a"/><circle cx="46" cy="66" r="4" fill="#fff"/><circle cx="60" cy="78" r="3" fill="#fff"/><path d="M48 30q-4-8 2-14M60 30q-4-8 2-14" fill="none" stroke="#94a3b8" stroke-width="3"/></svg>`
	svgSleepingBag template.HTML = `<svg viewBox="0 0 120 120" role="img" aria-label="Sleeping bag"><rect width="120" height="120" rx="16" fill="#ffedd5"/><rect x="18" y="40" width="86" height="44" rx="22" fill="#ea580c"/><path d="M40 40v44M58 40v44M76 40v44" stroke="#fdba74" stroke-width="3"/><ellipse cx="30" cy="62" rx="10" ry="16" fill="#9a3412"/><circle cx="30" cy="62" r="6" fill="#fed7aa"/></svg>`
)
