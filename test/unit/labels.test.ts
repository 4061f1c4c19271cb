import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasReason } from "../../shared/errors";
import {
  canonicalString,
  EVERYTHING,
  fromLabelSelector,
  isEmptySpec,
  type LabelSelectorSpec,
  matches,
  NOTHING,
  parseSelector,
  type Requirement,
  selectorString,
} from "../../shared/labels";

const req = (key: string, operator: Requirement["operator"], values: string[] = []): Requirement => ({
  key,
  operator,
  values,
});

/** The error a call throws, asserting it is an InvalidSelector ReasonedError with status 400. */
function selectorError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(hasReason(err, "InvalidSelector")).toBe(true);
    expect((err as { status: number }).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error("expected an InvalidSelector error");
}

const KEY_REGEX_HELP =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_REGEX_HELP =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe("parseSelector grammar", () => {
  it.each<[string, Requirement[]]>([
    // empty input selects everything
    ["", []],
    // equality
    ["app=web", [req("app", "=", ["web"])]],
    // double equals is the same requirement
    ["app==web", [req("app", "=", ["web"])]],
    // inequality
    ["app!=web", [req("app", "!=", ["web"])]],
    // set inclusion, values sorted
    ["tier in (b,a)", [req("tier", "in", ["a", "b"])]],
    // set exclusion
    ["tier notin (a,b)", [req("tier", "notin", ["a", "b"])]],
    // bare key means exists
    ["app", [req("app", "exists")]],
    // bang key means does-not-exist
    ["!app", [req("app", "!")]],
    // integer comparisons
    ["gen>1", [req("gen", "gt", ["1"])]],
    ["gen<10", [req("gen", "lt", ["10"])]],
    // whitespace around operators and commas; requirements sorted by key
    ["  z = 1 ,  a  ", [req("a", "exists"), req("z", "=", ["1"])]],
    // empty values are legal in every position (apimachinery's own doc example)
    [
      "x in (foo,,baz),y,z notin ()",
      [req("x", "in", ["", "baz", "foo"]), req("y", "exists"), req("z", "notin", [""])],
    ],
    // empty exact value
    ["app=", [req("app", "=", [""])]],
    // duplicate set values collapse
    ["a in (x,x,y)", [req("a", "in", ["x", "y"])]],
    // "in" is an ordinary identifier where a key or value is expected
    ["in in (in,notin)", [req("in", "in", ["in", "notin"])]],
    // prefixed keys
    ["kubevirt.io/vmpool=vm-pool-cirros", [req("kubevirt.io/vmpool", "=", ["vm-pool-cirros"])]],
    // kubectl's URL-decoded example from the fidelity notes
    ["app in (a,b),!foo,tier!=x", [req("app", "in", ["a", "b"]), req("foo", "!"), req("tier", "!=", ["x"])]],
    // 63-character name part is the maximum
    [`${"k".repeat(63)}=v`, [req("k".repeat(63), "=", ["v"])]],
  ])("%j parses", (text, expected) => {
    expect(parseSelector(text).requirements).toEqual(expected);
  });

  it.each<[string, string]>([
    // two identifiers without an operator
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    // garbage after a complete requirement
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    // set operator without parenthesis
    ["a in x", "unable to parse requirement: found 'x' expected: '('"],
    // unterminated set
    ["a in (x", "unable to parse requirement: found '', expected: ',' or ')'"],
    // unterminated set after a comma
    ["a in (x,", "unable to parse requirement: found '', expected: ',', or identifier"],
    // dangling comma
    ["a,", "found '', expected: identifier after ','"],
    // doubled comma
    ["a=b,,c", "found ',', expected: identifier after ','"],
    // leading comma
    [",a", "found ',', expected: !, identifier, or 'end of string'"],
    // does-not-exist takes no value
    ["!a=b", "found '=', expected: ',' or 'end of string'"],
    // bang without key
    ["!", "unable to parse requirement: found '', expected: identifier"],
    // >= is not an operator
    ["a>=1", "unable to parse requirement: found '=', expected: identifier"],
    // comparison against a non-integer
    [
      "a>x",
      "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    // value must start with an alphanumeric character
    ["a=-b", `unable to parse requirement: values[0][a]: Invalid value: "-b": ${VALUE_REGEX_HELP}`],
    // value longer than 63 bytes
    [
      `a=${"v".repeat(64)}`,
      `unable to parse requirement: values[0][a]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`,
    ],
    // more than one slash in a key
    [
      "a/b/c",
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a valid label key ${KEY_REGEX_HELP} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    // empty prefix
    ["/x=y", 'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty'],
    // uppercase prefix is not a DNS subdomain
    [
      "Foo.io/x=y",
      "unable to parse requirement: <nil>: Invalid value: \"Foo.io/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
    // name part longer than 63 bytes
    [
      `${"k".repeat(64)}`,
      `unable to parse requirement: <nil>: Invalid value: "${"k".repeat(64)}": name part must be no more than 63 characters`,
    ],
    // key with a bad character
    ["a_", `unable to parse requirement: <nil>: Invalid value: "a_": name part ${KEY_REGEX_HELP}`],
    // stray parenthesis
    ["(", "found '(', expected: !, identifier, or 'end of string'"],
  ])("%j is rejected", (text, message) => {
    expect(selectorError(() => parseSelector(text))).toBe(message);
  });
});

describe("matches", () => {
  it.each<[string, Record<string, string> | undefined, boolean]>([
    // everything matches anything, even no labels
    ["", undefined, true],
    // equality needs the key
    ["app=web", { app: "web" }, true],
    ["app=web", { app: "db" }, false],
    ["app=web", {}, false],
    // inequality also matches an absent key
    ["app!=web", {}, true],
    ["app!=web", undefined, true],
    ["app!=web", { app: "web" }, false],
    // set membership
    ["app in (web,db)", { app: "db" }, true],
    ["app in (web,db)", { other: "db" }, false],
    // notin matches an absent key
    ["app notin (web)", { other: "x" }, true],
    ["app notin (web)", { app: "web" }, false],
    // exists / does not exist
    ["app", { app: "" }, true],
    ["!app", { app: "" }, false],
    ["!app", {}, true],
    // empty value equality
    ["app=", { app: "" }, true],
    // integer comparisons; non-integer or missing labels never match
    ["gen>1", { gen: "2" }, true],
    ["gen>1", { gen: "1" }, false],
    ["gen<10", { gen: "-3" }, true],
    ["gen>1", { gen: "x" }, false],
    ["gen>1", {}, false],
    // int64 range beyond double precision
    ["gen>9007199254740993", { gen: "9007199254740994" }, true],
    ["gen<9007199254740993", { gen: "9007199254740994" }, false],
    // AND of requirements
    ["app=web,tier in (fe)", { app: "web", tier: "fe" }, true],
    ["app=web,tier in (fe)", { app: "web", tier: "be" }, false],
    // inherited object properties are not labels
    ["constructor", {}, false],
    ["toString!=x", {}, true],
  ])("%j against %j is %s", (text, labels, expected) => {
    expect(matches(parseSelector(text), labels)).toBe(expected);
  });
});

describe("fromLabelSelector", () => {
  it("maps nil to a selector that matches nothing and {} to one that matches everything", () => {
    expect(fromLabelSelector(null)).toBe(NOTHING);
    expect(fromLabelSelector(undefined)).toBe(NOTHING);
    expect(matches(NOTHING, {})).toBe(false);
    expect(matches(NOTHING, { app: "web" })).toBe(false);
    expect(fromLabelSelector({})).toBe(EVERYTHING);
    expect(fromLabelSelector({ matchLabels: {}, matchExpressions: [] })).toBe(EVERYTHING);
    expect(matches(EVERYTHING, undefined)).toBe(true);
  });

  it("combines matchLabels and matchExpressions sorted by key", () => {
    const selector = fromLabelSelector({
      matchLabels: { "kubevirt.io/vmpool": "p" },
      matchExpressions: [
        { key: "tier", operator: "NotIn", values: ["b", "a"] },
        { key: "app", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist", values: [] },
      ],
    });
    expect(selector.requirements).toEqual([
      req("app", "exists"),
      req("kubevirt.io/vmpool", "=", ["p"]),
      req("legacy", "!"),
      req("tier", "notin", ["b", "a"]),
    ]);
    expect(matches(selector, { app: "x", "kubevirt.io/vmpool": "p" })).toBe(true);
    expect(matches(selector, { app: "x", "kubevirt.io/vmpool": "p", legacy: "1" })).toBe(false);
  });

  it.each<[LabelSelectorSpec, string]>([
    // unknown operator, quoted like Go's %q
    [
      { matchExpressions: [{ key: "a", operator: "Equals" as "In", values: ["x"] }] },
      '"Equals" is not a valid label selector operator',
    ],
    // In without values (Go passes a nil slice)
    [
      { matchExpressions: [{ key: "a", operator: "In" }] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    // Exists with values
    [
      { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] },
      'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    ],
    // invalid key from matchLabels uses the "key" path
    [{ matchLabels: { "a b": "x" } }, `key: Invalid value: "a b": name part ${KEY_REGEX_HELP}`],
    // invalid value
    [{ matchLabels: { a: "x y" } }, `values[0][a]: Invalid value: "x y": ${VALUE_REGEX_HELP}`],
    // several errors are aggregated in brackets
    [
      { matchExpressions: [{ key: "a b", operator: "In" }] },
      `[key: Invalid value: "a b": name part ${KEY_REGEX_HELP}, values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty]`,
    ],
  ])("rejects %j", (spec, message) => {
    expect(selectorError(() => fromLabelSelector(spec))).toBe(message);
  });
});

describe("canonicalString", () => {
  it.each<[LabelSelectorSpec | null, string]>([
    // nil and empty both print as ""
    [null, ""],
    [{}, ""],
    // the pool's own selector (user guide describe output)
    [{ matchLabels: { "kubevirt.io/vmpool": "vm-pool-cirros" } }, "kubevirt.io/vmpool=vm-pool-cirros"],
    // keys sorted across matchLabels and matchExpressions, set values sorted
    [
      {
        matchLabels: { b: "2", a: "1" },
        matchExpressions: [
          { key: "c", operator: "In", values: ["z", "y"] },
          { key: "0", operator: "NotIn", values: ["q"] },
          { key: "d", operator: "DoesNotExist" },
          { key: "e", operator: "Exists" },
        ],
      },
      "0 notin (q),a=1,b=2,c in (y,z),!d,e",
    ],
    // empty values survive
    [
      { matchLabels: { a: "" }, matchExpressions: [{ key: "b", operator: "In", values: ["", "x"] }] },
      "a=,b in (,x)",
    ],
  ])("%j prints %j", (spec, expected) => {
    expect(canonicalString(spec)).toBe(expected);
  });

  it("prints parsed selectors in the same canonical form", () => {
    expect(selectorString(parseSelector("z notin (b,a), a==1 ,!m"))).toBe("a=1,!m,z notin (a,b)");
  });
});

describe("isEmptySpec", () => {
  it.each<[LabelSelectorSpec | null | undefined, boolean]>([
    // nil
    [undefined, true],
    [null, true],
    // empty object and empty members
    [{}, true],
    [{ matchLabels: {}, matchExpressions: [] }, true],
    // any label or expression makes it non-empty
    [{ matchLabels: { a: "b" } }, false],
    [{ matchExpressions: [{ key: "a", operator: "Exists" }] }, false],
  ])("%j is %s", (spec, expected) => {
    expect(isEmptySpec(spec)).toBe(expected);
  });
});

describe("property: the canonical string round-trips through the parser", () => {
  const key = fc.constantFrom("a", "b", "app", "kubevirt.io/vmpool", "in", "x-1");
  const value = fc.constantFrom("", "a", "b", "web", "in", "1.0", "x_y");
  const spec: fc.Arbitrary<LabelSelectorSpec> = fc.record(
    {
      matchLabels: fc.dictionary(key, value, { maxKeys: 3 }),
      matchExpressions: fc.array(
        fc.oneof(
          fc.record({
            key,
            operator: fc.constantFrom("In" as const, "NotIn" as const),
            values: fc.array(value, { minLength: 1, maxLength: 3 }),
          }),
          fc.record({ key, operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const) }),
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  );
  const labels = fc.dictionary(key, value, { maxKeys: 4 });

  it("parseSelector(canonicalString(spec)) selects exactly what fromLabelSelector(spec) selects", () => {
    fc.assert(
      fc.property(spec, fc.array(labels, { minLength: 1, maxLength: 8 }), (s, sets) => {
        const direct = fromLabelSelector(s);
        const reparsed = parseSelector(canonicalString(s));
        for (const set of sets) expect(matches(reparsed, set)).toBe(matches(direct, set));
      }),
    );
  });
});
