// Config's backend names (operator-facing: node, native, wasm, cpu) to the model layer's names.
import type { BackendPreference } from '../model/backend';

export function backendPreference(configured: 'auto' | 'node' | 'native' | 'wasm' | 'cpu'): BackendPreference {
  return configured === 'node' ? 'tensorflow' : configured;
}
