/**
 * The `labelSelector` query-string grammar, ported token for token from apimachinery `labels.Parse` so that valid
 * input parses the same way and invalid input fails with the same message a real API server returns.
 */
import {
  invalidSelector,
  type Operator,
  type Requirement,
  requirementError,
  type Selector,
  sortByKey,
} from "./selector";
import { invalidField, labelKeyErrors } from "./validation";

enum Tok {
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const SYMBOLS: ReadonlyMap<string, Tok> = new Map([
  [")", Tok.ClosedPar],
  [",", Tok.Comma],
  ["!", Tok.DoesNotExist],
  ["==", Tok.DoubleEquals],
  ["=", Tok.Equals],
  [">", Tok.GreaterThan],
  ["<", Tok.LessThan],
  ["!=", Tok.NotEquals],
  ["(", Tok.OpenPar],
]);

interface Item {
  readonly tok: Tok;
  readonly lit: string;
}

const isWhitespace = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

/** `= ! ( ) , > <` */
const isSpecial = (c: number): boolean =>
  c === 61 || c === 33 || c === 40 || c === 41 || c === 44 || c === 62 || c === 60;

/** Tokenises like Go's Lexer, including its use of byte 0 as the end-of-input marker. */
function scan(input: string): Item[] {
  let pos = 0;
  const read = (): number => (pos < input.length ? input.charCodeAt(pos++) : 0);
  const items: Item[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    if (ch === 0) {
      items.push({ tok: Tok.EndOfString, lit: "" });
      return items;
    }
    pos--;
    if (isSpecial(ch)) {
      let buffer = "";
      let last: Item | undefined;
      for (;;) {
        const c = read();
        if (c === 0) break;
        if (!isSpecial(c)) {
          pos--;
          break;
        }
        buffer += String.fromCharCode(c);
        const tok = SYMBOLS.get(buffer);
        if (tok !== undefined) last = { tok, lit: buffer };
        else if (last !== undefined) {
          pos--;
          break;
        }
      }
      // Every single special character is a token, so `last` is always set here.
      items.push(last ?? { tok: Tok.Identifier, lit: buffer });
    } else {
      const start = pos;
      for (;;) {
        const at = pos;
        const c = read();
        // Go ends an identifier at a NUL byte (consumed) or before a special or blank character.
        if (c === 0 || isSpecial(c) || isWhitespace(c)) {
          if (c !== 0) pos = at;
          const lit = input.slice(start, at);
          items.push({ tok: lit === "in" ? Tok.In : lit === "notin" ? Tok.NotIn : Tok.Identifier, lit });
          break;
        }
      }
    }
  }
}

class ParseError extends Error {}

/** Recursive descent over the scanned items; `values` context treats `in`/`notin` as identifiers. */
class Parser {
  private position = 0;

  constructor(private readonly items: readonly Item[]) {}

  private peek(values: boolean): Item {
    return this.retag(this.items[this.position] as Item, values);
  }

  private next(values: boolean): Item {
    const item = this.items[this.position] as Item;
    this.position++;
    return this.retag(item, values);
  }

  private retag(item: Item, values: boolean): Item {
    return values && (item.tok === Tok.In || item.tok === Tok.NotIn)
      ? { tok: Tok.Identifier, lit: item.lit }
      : item;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const head = this.peek(true);
      if (head.tok === Tok.EndOfString) return requirements;
      if (head.tok !== Tok.Identifier && head.tok !== Tok.DoesNotExist) {
        throw new ParseError(`found '${head.lit}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.requirement());
      } catch (err) {
        if (err instanceof ParseError) throw new ParseError(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const after = this.next(true);
      if (after.tok === Tok.EndOfString) return requirements;
      if (after.tok !== Tok.Comma)
        throw new ParseError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const following = this.peek(true);
      if (following.tok !== Tok.Identifier && following.tok !== Tok.DoesNotExist) {
        throw new ParseError(`found '${following.lit}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): Requirement {
    const { key, operator } = this.keyAndInferredOperator();
    if (operator !== undefined) return build(key, operator, []);
    const op = this.operator();
    const values = op === "in" || op === "notin" ? this.setValues() : this.exactValue();
    return build(key, op, [...values].sort());
  }

  private keyAndInferredOperator(): { key: string; operator: Operator | undefined } {
    let operator: Operator | undefined;
    let item = this.next(true);
    if (item.tok === Tok.DoesNotExist) {
      operator = "!";
      item = this.next(true);
    }
    if (item.tok !== Tok.Identifier) throw new ParseError(`found '${item.lit}', expected: identifier`);
    const keyErrs = labelKeyErrors(item.lit);
    // The parser validates the key against its own (nil) path, which Go prints as "<nil>".
    if (keyErrs.length > 0) throw new ParseError(invalidField("<nil>", item.lit, keyErrs.join("; ")));
    const ahead = this.peek(true).tok;
    if ((ahead === Tok.EndOfString || ahead === Tok.Comma) && operator === undefined) operator = "exists";
    return { key: item.lit, operator };
  }

  private operator(): Operator {
    const item = this.next(false);
    switch (item.tok) {
      case Tok.In:
        return "in";
      case Tok.NotIn:
        return "notin";
      case Tok.Equals:
      case Tok.DoubleEquals:
        return "=";
      case Tok.NotEquals:
        return "!=";
      case Tok.GreaterThan:
        return "gt";
      case Tok.LessThan:
        return "lt";
      default:
        throw new ParseError(`found '${item.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private setValues(): Set<string> {
    const open = this.next(true);
    if (open.tok !== Tok.OpenPar) throw new ParseError(`found '${open.lit}' expected: '('`);
    const ahead = this.peek(true);
    if (ahead.tok === Tok.Identifier || ahead.tok === Tok.Comma) {
      const values = this.identifierList();
      this.next(true);
      return values;
    }
    if (ahead.tok === Tok.ClosedPar) {
      this.next(true);
      return new Set([""]);
    }
    throw new ParseError(`found '${ahead.lit}', expected: ',', ')' or identifier`);
  }

  /** A possibly empty, comma-separated list of possibly empty values, up to (not including) `)`. */
  private identifierList(): Set<string> {
    const values = new Set<string>();
    for (;;) {
      const item = this.next(true);
      if (item.tok === Tok.Identifier) {
        values.add(item.lit);
        const ahead = this.peek(true);
        if (ahead.tok === Tok.Comma) continue;
        if (ahead.tok === Tok.ClosedPar) return values;
        throw new ParseError(`found '${ahead.lit}', expected: ',' or ')'`);
      }
      if (item.tok !== Tok.Comma) throw new ParseError(`found '${item.lit}', expected: ',', or identifier`);
      if (values.size === 0) values.add("");
      const ahead = this.peek(true);
      if (ahead.tok === Tok.ClosedPar) {
        values.add("");
        return values;
      }
      if (ahead.tok === Tok.Comma) {
        this.next(true);
        values.add("");
      }
    }
  }

  private exactValue(): Set<string> {
    const ahead = this.peek(true);
    if (ahead.tok === Tok.EndOfString || ahead.tok === Tok.Comma) return new Set([""]);
    const item = this.next(true);
    if (item.tok === Tok.Identifier) return new Set([item.lit]);
    throw new ParseError(`found '${item.lit}', expected: identifier`);
  }
}

function build(key: string, operator: Operator, values: string[]): Requirement {
  const err = requirementError(key, operator, values);
  if (err !== undefined) throw new ParseError(err);
  return { key, operator, values };
}

/**
 * Parses a `labelSelector` string (`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`,
 * comma = AND). Empty input matches everything. Throws ReasonedError `InvalidSelector` (status 400) carrying
 * apimachinery's message, e.g. `unable to parse requirement: found '', expected: identifier`.
 */
export function parseSelector(text: string): Selector {
  try {
    return { requirements: sortByKey(new Parser(scan(text)).parse()) };
  } catch (err) {
    if (err instanceof ParseError) throw invalidSelector(err.message);
    throw err;
  }
}
