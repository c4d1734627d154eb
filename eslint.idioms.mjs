// One way to say each common thing in src/, so it reads the same everywhere; test/unit/idioms.test.ts plants
// the other ways to prove each rule fires.
import tseslint from 'typescript-eslint';

/** A thrown value's text goes through core/errors.ts: errorMessage(err), or asError(err) for an Error. */
const ERROR_IDIOMS = [
  {
    // `(err as Error).message` is undefined when a string or a number was thrown.
    selector: "MemberExpression[property.name='message'][object.type='TSAsExpression']",
    message: 'Use errorMessage(err) from core/errors.ts: a cast does not make a thrown value an Error.',
  },
  {
    selector:
      "ConditionalExpression[test.operator='instanceof'][test.right.name='Error'][consequent.property.name='message'][alternate.callee.name='String']",
    message: 'Use errorMessage(err) from core/errors.ts.',
  },
  {
    selector: "ConditionalExpression[test.operator='instanceof'][test.right.name='Error'][alternate.type='NewExpression'][alternate.callee.name='Error']",
    message: 'Use asError(err) from core/errors.ts.',
  },
];

/** A call of log.info/warn/error/debug, on `log`, `logger` or a `.log` / `.logger` property. */
const LOG_CALL =
  "CallExpression[callee.property.name=/^(debug|info|warn|error)$/]:matches([callee.object.name=/^(log|logger)$/], [callee.object.property.name=/^(log|logger)$/])";
const LOG_MESSAGE = 'A log message is a sentence: end it with a period (telemetry/logger.ts).';

/** Log messages are sentences with a final period: a literal, a template or either branch of a conditional. */
const LOG_STYLE = [
  { selector: `${LOG_CALL} > Literal:first-child:not([value=/\\.$/])`, message: LOG_MESSAGE },
  { selector: `${LOG_CALL} > TemplateLiteral:first-child > TemplateElement:last-child:not([value.cooked=/\\.$/])`, message: LOG_MESSAGE },
  { selector: `${LOG_CALL} > ConditionalExpression:first-child > Literal:not([value=/\\.$/])`, message: LOG_MESSAGE },
];

export default [
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: { 'no-restricted-syntax': ['error', ...ERROR_IDIOMS, ...LOG_STYLE] },
  },
];
