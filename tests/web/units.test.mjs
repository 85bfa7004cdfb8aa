// Unit tests of the app's pure logic, run by `node --test` (see test_js_units.py).
import { test } from "node:test";
import assert from "node:assert/strict";

const web = new URL("../../services/gateway/web/js/", import.meta.url);
const { collectIssues, segments, kindOf } = await import(new URL("highlight.js", web));
const { applyEvent, query } = await import(new URL("api.js", web));
const { parseCsv } = await import(new URL("batch.js", web));
const { flagLabel, t } = await import(new URL("i18n.js", web));

test("kinds follow dimension and category", () => {
  assert.equal(kindOf("grammar", "spelling"), "spelling");
  assert.equal(kindOf("grammar", "accent"), "spelling");
  assert.equal(kindOf("grammar", "agreement"), "grammar");
  assert.equal(kindOf("cohesion", "connective.addition"), "cohesion");
  assert.equal(kindOf("proposal", "proposal.agent"), "proposal");
  assert.equal(kindOf("theme", "repertoire.data"), "other");
});

test("overlapping issues cut the text into covering pieces", () => {
  const text = "abcdefghij";
  const issues = collectIssues(
    {
      proposal: { result: { issues: [{ start: 2, end: 8, category: "proposal.action", message: "a" }] } },
      grammar: { result: { issues: [{ start: 4, end: 6, category: "spelling", message: "b" }] } },
    },
    text.length,
  );
  const pieces = segments(text.length, issues);
  assert.deepEqual(
    pieces.map((p) => [text.slice(p.start, p.end), p.issues.map((i) => i.kind).sort()]),
    [
      ["ab", []],
      ["cd", ["proposal"]],
      ["ef", ["proposal", "spelling"]],
      ["gh", ["proposal"]],
      ["ij", []],
    ],
  );
  // The pieces cover the text exactly once.
  assert.equal(pieces.map((p) => text.slice(p.start, p.end)).join(""), text);
});

test("offsets past the text are clipped, empty spans never highlight", () => {
  const issues = collectIssues(
    { grammar: { result: { issues: [{ start: 8, end: 99, category: "spelling", message: "x" }, { start: 3, end: 3, category: "spelling", message: "y" }] } } },
    10,
  );
  assert.deepEqual(issues.map((i) => [i.start, i.end]), [[3, 3], [8, 10]]);
  const covered = segments(10, issues).filter((p) => p.issues.length);
  assert.deepEqual(covered.map((p) => [p.start, p.end]), [[8, 10]]);
});

test("SSE events update the job view", () => {
  let job = { status: "PENDING", progress: { done: 0, total: 2, percent: 0 }, actions: { a: { status: "PENDING" }, b: { status: "PENDING" } }, seq: 1 };
  job = applyEvent(job, { type: "action", seq: 2, dimension: "a", status: "DONE", job_status: "RUNNING", done: 1, total: 2, elapsed_ms: 12 });
  assert.equal(job.status, "RUNNING");
  assert.equal(job.progress.percent, 50);
  assert.equal(job.actions.a.status, "DONE");
  assert.equal(job.actions.a.elapsed_ms, 12);
  assert.equal(job.actions.b.status, "PENDING");
  job = applyEvent(job, { type: "snapshot", seq: 5, job: { status: "COMPLETED", progress: { done: 2, total: 2, percent: 100 }, actions: {}, seq: 5 } });
  assert.equal(job.status, "COMPLETED");
  assert.equal(job.seq, 5);
});

test("query strings repeat lists and drop empty values", () => {
  assert.equal(query({ q: "a b", flag: ["x", "y"], cursor: null, sort: "" }), "?q=a+b&flag=x&flag=y");
  assert.equal(query({}), "");
});

test("CSV export parsing handles quotes, commas and newlines", () => {
  assert.deepEqual(parseCsv('a,b\n"x, y","say ""hi""\nthere"\r\n1,2\n'), [
    ["a", "b"],
    ["x, y", 'say "hi"\nthere'],
    ["1", "2"],
  ]);
});

test("flags read as words, with their detail", () => {
  assert.equal(flagLabel("low_confidence:c4,c5"), "Baixa confiança: C4, C5");
  assert.equal(flagLabel("tangential"), "Tangencia o tema");
  assert.equal(flagLabel("some_new_flag"), "some_new_flag");
  assert.equal(t("search.results", { total: 3 }), "3 redações encontradas");
});
