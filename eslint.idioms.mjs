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

// The files that still spell the message out; drop them here once they use errorMessage.
const ERROR_IDIOMS_PENDING = ['src/state/stateStore.ts', 'src/state/filterCheckpoint.ts'];

export default [
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: { 'no-restricted-syntax': ['error', ...ERROR_IDIOMS] },
  },
  {
    files: ERROR_IDIOMS_PENDING,
    rules: { 'no-restricted-syntax': 'off' },
  },
];
