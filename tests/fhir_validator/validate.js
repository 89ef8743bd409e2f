// Validates FHIR R4 JSON with FHIR.js (npm `fhir`: R4 structure definitions and value sets, unexpected
// properties refused), plus the FHIR JSON rules it does not check (no empty arrays, objects or strings, no null).
// Protocol: one JSON document per input line; one output line per input: a JSON array of error strings.
"use strict";
const readline = require("readline");
const { Fhir } = require("fhir");

const fhir = new Fhir();

function jsonRules(value, path, errors) {
  if (value === null) {
    errors.push(`${path}: null is not allowed in FHIR JSON`);
  } else if (Array.isArray(value)) {
    if (value.length === 0) errors.push(`${path}: empty array`);
    value.forEach((item, i) => jsonRules(item, `${path}[${i}]`, errors));
  } else if (typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) errors.push(`${path}: empty object`);
    keys.forEach((key) => jsonRules(value[key], `${path}.${key}`, errors));
  } else if (typeof value === "string" && value.trim() === "") {
    errors.push(`${path}: empty string`);
  }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let errors = [];
  try {
    const resource = JSON.parse(line);
    const result = fhir.validate(resource, { errorOnUnexpected: true });
    errors = result.messages.filter((m) => m.severity === "error").map((m) => `${m.location}: ${m.message}`);
    jsonRules(resource, resource.resourceType || "$", errors);
  } catch (error) {
    errors = [`unreadable: ${error.message}`];
  }
  process.stdout.write(JSON.stringify(errors) + "\n");
});
