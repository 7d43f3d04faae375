// Trailhead Outfitters: the Waymark demo shop's only script. It adds to the
// cart without a reload and checks forms before they are sent; the server
// checks them again, so the shop also works without it.
"use strict";

(function () {
  const badge = document.querySelector("[data-test=cart-badge]");
  const message = document.getElementById("cart-message");
  const alertBox = document.getElementById("cart-error");
  // Answers to concurrent adds may arrive out of order: the badge keeps the
  // count of the newest cart version the server reported.
  let version = badge ? Number(badge.dataset.version) : 0;
  let messageTimer = 0;

  function say(text) {
    alertBox.hidden = true;
    message.textContent = text;
    message.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(function () { message.hidden = true; }, 4000);
  }

  function complain(text) {
    message.hidden = true;
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  async function addToCart(button) {
    const name = button.dataset.name;
    const field = button.form && button.form.elements.quantity;
    const quantity = field ? Number(field.value) : 1;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
      complain("Please choose a quantity from 1 to 99.");
      return;
    }
    button.disabled = true;
    try {
      const res = await fetch("/api/cart", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ slug: button.dataset.add, quantity: quantity }),
      });
      const body = await res.json().catch(function () { return {}; });
      if (!res.ok) {
        throw new Error(body.error || "HTTP " + res.status);
      }
      if (body.version > version) {
        version = body.version;
        badge.textContent = String(body.count);
        badge.dataset.count = String(body.count);
        badge.classList.remove("bump");
        void badge.offsetWidth; // restart the animation
        badge.classList.add("bump");
      }
      say("Added " + (quantity > 1 ? quantity + " × " : "") + name + " to your cart");
    } catch (err) {
      complain("Sorry, we could not add " + name + " to your cart (" + err.message + "). Please try again.");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (e) {
    const button = e.target instanceof Element && e.target.closest("[data-add]");
    if (button) {
      e.preventDefault();
      addToCart(button);
    }
  });

  // Enter in the product page's quantity field adds to the cart.
  document.addEventListener("submit", function (e) {
    if (e.target.matches("[data-buy]")) {
      e.preventDefault();
      const button = e.target.querySelector("[data-add]");
      if (button) { button.click(); }
    }
  });

  // Form checks: the same rules and messages as the server's.
  function required(what) {
    return function (v) { return v ? "" : "Please enter " + what + "."; };
  }
  const rules = {
    name: required("your name"),
    email: function (v, el) {
      if (!v) { return "Please enter your email."; }
      return new RegExp(el.dataset.pattern).test(v) ? "" : "Please enter an email address like name@example.com.";
    },
    address: required("your street address"),
    city: required("your town or city"),
    postcode: function (v, el) {
      if (!v) { return "Please enter your postcode."; }
      const option = el.form.elements.country.selectedOptions[0];
      if (!option) { return ""; }
      return new RegExp(option.dataset.postcode, "i").test(v) ? "" :
        "Please enter a " + option.textContent + " postcode, like " + option.dataset.example + ".";
    },
    "card-number": function (v) {
      return /^[0-9]{13,19}$/.test(v.replace(/[\s-]/g, "")) ? "" : "Please enter the 16-digit card number.";
    },
    "card-expiry": function (v) {
      const m = /^\s*(0[1-9]|1[0-2])\s*\/\s*([0-9]{2})\s*$/.exec(v);
      if (!m) { return "Please enter the expiry date as MM/YY."; }
      // Valid until the end of its month: the 1st of the next month, local time.
      return new Date() < new Date(2000 + Number(m[2]), Number(m[1]), 1) ? "" : "This card has expired.";
    },
    "card-cvc": function (v) {
      return /^[0-9]{3,4}$/.test(v) ? "" : "Please enter the 3 or 4 digits on the back of the card.";
    },
  };

  function show(el, text) {
    const out = document.getElementById("error-" + el.name);
    if (out) {
      out.textContent = text;
      out.hidden = !text;
    }
    el.closest(".field").classList.toggle("invalid", Boolean(text));
    el.setAttribute("aria-invalid", text ? "true" : "false");
  }

  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      let first = null;
      Array.from(form.elements).forEach(function (el) {
        const rule = rules[el.name];
        if (!rule) { return; }
        const text = rule(el.value.trim(), el);
        show(el, text);
        if (text && !first) { first = el; }
      });
      if (first) {
        e.preventDefault();
        first.focus();
      }
    });
    form.addEventListener("input", function (e) {
      if (rules[e.target.name]) { show(e.target, ""); }
    });
  });

  // The postcode placeholder follows the chosen country.
  const country = document.getElementById("country");
  const postcode = document.getElementById("postcode");
  function hint() {
    const option = country.selectedOptions[0];
    postcode.placeholder = option ? "e.g. " + option.dataset.example : "";
  }
  if (country && postcode) {
    country.addEventListener("change", function () { hint(); show(postcode, ""); });
    hint();
  }
})();
