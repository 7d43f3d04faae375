// Package examples is Waymark's demo shop, Trailhead Outfitters, and the
// example journeys that run against it. The shop is what a new user first
// meets (`waymark demo`) and the target of Waymark's end-to-end tests, so it
// can be told to fail in controlled ways.
//
// The shop is one http.Handler (see NewShop) with everything embedded:
// templates, CSS, JavaScript and SVG pictures; it makes no network calls.
// State is in memory, per visitor through a session cookie, so parallel
// browser contexts do not see each other's carts.
//
// # Pages
//
//	GET  /                        product grid
//	GET  /search?q=               search results
//	GET  /product/{slug}          product details, quantity, add to cart
//	GET  /login, POST /login      sign in (ada@example.com / lovelace, grace@example.com / hopper)
//	POST /logout                  sign out
//	GET  /api/cart, POST /api/cart  the cart as JSON; add {"slug": "tent", "quantity": 1}
//	GET  /cart                    cart; POST /cart/update, /cart/remove, /cart/empty change it
//	GET  /checkout, POST /checkout  delivery form, validated in the browser and on the server
//	GET  /payment, POST /payment  card form; only the test card 4242 4242 4242 4242 is accepted
//	GET  /confirmation/{order}    "Thank you" with the order number, e.g. WM-100001
//	GET  /__faults, PUT /__faults  read or change the faults (JSON object, point → fault)
//
// # Faults
//
// A fault is set per point with a spec such as
// "payment=500,add-to-cart=broken,search=slow:2s" (ParseFaults), with
// Shop.SetFaults, or at run time with PUT /__faults {"payment": "500"}
// (merges; "" removes one point's fault; {} clears all).
//
// The request kinds act on the point's request:
//
//	500        the request answers HTTP 500 (an error page, or JSON {"error": …} for the API)
//	slow:D     the request answers normally after D
//	hang       the request never answers, until the client goes away or Shop.Close
//	flaky:P    the request answers HTTP 500 with probability P (Options.Rand), else normally
//
// The page kinds act on the point's control in the page:
//
//	broken     clicking the control throws an uncaught JavaScript error and does nothing else
//	missing    the control is not rendered
//
// Per point:
//
//	point         request (500, slow, hang, flaky)          control (broken, missing)
//	home          GET /                                     the home page's product grid (missing: a
//	                                                        "restocking" note instead; broken: its links
//	                                                        and add buttons throw)
//	search        GET /search                               the header's search box: search-input and
//	                                                        search-submit (broken: submitting throws)
//	product       GET /product/{slug}                       the product page's quantity and add button
//	login         POST /login                               the sign-in button, login-submit
//	add-to-cart   POST /api/cart (the badge does not        every add button, add-<slug>, on every page
//	              change; 500 shows an error message)       (broken: the badge never updates)
//	cart          GET /cart, POST /cart/*                   the checkout button
//	checkout      POST /checkout                            the continue-to-payment button
//	payment       POST /payment (no order is placed)        the pay button
//	confirmation  GET /confirmation/{order}                 the order number, order-id (broken: the page
//	                                                        throws an uncaught error while loading)
//
// Faults on a form's POST leave its page working, so a journey fails at the
// step that submits, as a real outage would look.
package examples
