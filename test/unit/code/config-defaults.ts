import ts from 'typescript';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Finds config defaults written outside the schema: a `??` or `||` whose right
 * side is a literal (number, string, boolean) and whose left side reads a
 * field the config schema declares (resolved by the type checker to a
 * property of src/config/schema/**), a schema boolean compared with true or
 * false (`c.enabled !== false` is `c.enabled ?? true`), plus any literal
 * duration such as `?? '5s'` whatever its left side (durations only come
 * from config).
 */
export interface InlineDefault {
  file: string;
  line: number;
  field: string;
  text: string;
}

const DURATION = /^(['"])([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+\1$/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** A literal, or a name bound to one (`const DEFAULT_X = 1024`, imported or not): a default written outside the schema either way. */
function literal(node: ts.Expression, checker: ts.TypeChecker): boolean {
  while (ts.isParenthesizedExpression(node)) node = node.expression;
  if (ts.isIdentifier(node)) {
    let symbol = checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const decl = symbol?.valueDeclaration;
    return decl !== undefined && ts.isVariableDeclaration(decl) && (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0 && decl.initializer !== undefined && literal(decl.initializer, checker);
  }
  if (ts.isNumericLiteral(node) || ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return true;
  if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) return true;
  if (ts.isPrefixUnaryExpression(node)) return literal(node.operand, checker);
  // 10 * 1024 * 1024
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.AsteriskToken) return literal(node.left, checker) && literal(node.right, checker);
  return false;
}

/** The property read on the left: `a.b?.c` -> c, `f(a.c)` -> c (a parse of a field), `x ?? a.c` -> c, else undefined. */
function fieldAccess(node: ts.Expression): ts.PropertyAccessExpression | undefined {
  while (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node) || ts.isAsExpression(node)) node = node.expression;
  if (ts.isPropertyAccessExpression(node)) return node;
  // a ?? c.field ?? 'x': the literal backs the last field read
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) return fieldAccess(node.right);
  if (ts.isCallExpression(node) && node.arguments.length === 1) return fieldAccess(node.arguments[0]!);
  return undefined;
}

function isEquality(k: ts.SyntaxKind): boolean {
  return k === ts.SyntaxKind.ExclamationEqualsEqualsToken || k === ts.SyntaxKind.EqualsEqualsEqualsToken;
}

function isBoolean(node: ts.Expression): boolean {
  return node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword;
}

/** `root`: the repository; `dirs`: folders under it to scan; `schemaDir`: where defaults may be written. */
export function findInlineDefaults(root: string, dirs: string[], schemaDir: string): InlineDefault[] {
  const files = dirs.flatMap((d) => tsFiles(join(root, d)));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const schemaPrefix = join(root, schemaDir) + sep;
  const inSchema = (f: string) => f.startsWith(schemaPrefix);
  const out: InlineDefault[] = [];
  for (const file of files) {
    if (inSchema(file)) continue;
    const sf = program.getSourceFile(file);
    if (!sf) continue;
    const visit = (node: ts.Node): void => {
      // c.x !== undefined ? parse(c.x) : DEFAULT_X: the same default, spelled as a conditional
      if (ts.isConditionalExpression(node) && ts.isBinaryExpression(node.condition) && isEquality(node.condition.operatorToken.kind) && node.condition.right.getText(sf) === 'undefined') {
        const present = node.condition.operatorToken.kind === ts.SyntaxKind.ExclamationEqualsEqualsToken;
        const [used, fallback] = present ? [node.whenTrue, node.whenFalse] : [node.whenFalse, node.whenTrue];
        const access = fieldAccess(node.condition.left);
        const symbol = access && checker.getSymbolAtLocation(access.name);
        // only when the other branch uses the field itself: `c.grpc !== undefined ? 'grpc' : 'http'` derives another setting
        if (access && literal(fallback, checker) && used.getText(sf).includes(access.getText(sf)) && symbol?.declarations?.some((d) => inSchema(d.getSourceFile().fileName))) {
          out.push({ file: relative(root, file).split(sep).join('/'), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, field: access.name.text, text: node.getText(sf) });
        }
      }
      // c.enabled !== false, c.insecureSkipVerify === true: a boolean default in disguise
      if (ts.isBinaryExpression(node) && isEquality(node.operatorToken.kind) && isBoolean(node.right)) {
        const access = fieldAccess(node.left);
        const symbol = access && checker.getSymbolAtLocation(access.name);
        if (access && symbol?.declarations?.some((d) => inSchema(d.getSourceFile().fileName))) {
          out.push({ file: relative(root, file).split(sep).join('/'), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, field: access.name.text, text: node.getText(sf) });
        }
      }
      if (ts.isBinaryExpression(node) && (node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || node.operatorToken.kind === ts.SyntaxKind.BarBarToken) && literal(node.right, checker)) {
        const access = fieldAccess(node.left);
        let field: string | undefined;
        if (access) {
          const symbol = checker.getSymbolAtLocation(access.name);
          if (symbol?.declarations?.some((d) => inSchema(d.getSourceFile().fileName))) field = access.name.text;
        }
        if (field === undefined && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken && DURATION.test(node.right.getText(sf))) field = access?.name.text ?? node.left.getText(sf);
        if (field !== undefined) {
          out.push({ file: relative(root, file).split(sep).join('/'), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, field, text: node.getText(sf) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}
