// node-opcua-client, loaded on first use. Loading it takes about 1.2 s and 60 MB of RSS (it builds the whole
// OPC UA type system), and on Node.js 20 its secure-channel module tests RSA PKCS#1 v1.5 at load and prints a
// [NODE-OPCUA-W27] warning about --security-revert on stderr. A daemon without an `opcua` section, and every
// other command, never loads it: the OPC UA source calls opcuaClient() in start(), and the other files of
// sources/ import its types only (`import type`, which compiles to nothing). node-opcua-client rather than the
// node-opcua meta package: the meta package also loads the server and its address space (about twice the time).
// node-opcua writes its own warnings and errors with console.log; they are routed into anomalyd's log at DEBUG
// (the source reports what matters itself, as one line each), so its output stays one format.
import type * as CertificateManagerModule from 'node-opcua-certificate-manager';
import type * as OpcuaClientModule from 'node-opcua-client';
import type * as CryptoModule from 'node-opcua-crypto';
import type * as OpcuaDebugModule from 'node-opcua-debug';
import type { Log } from '../core/context';

/** The client, its certificate store and the certificate file readers (dependencies of node-opcua-client). */
export interface OpcuaClientLib {
  readonly client: typeof OpcuaClientModule;
  readonly certificates: typeof CertificateManagerModule;
  readonly crypto: typeof CryptoModule;
}

let loaded: OpcuaClientLib | undefined;
let debugLog: Log | undefined;

/** node-opcua-client, required on the first call; node-opcua's own log lines go to `log` at DEBUG from then on. */
export function opcuaClient(log: Log): OpcuaClientLib {
  debugLog = log;
  if (!loaded) {
    // Before the client: its modules create their loggers (and the W27 check) as they load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const debug = require('node-opcua-debug') as typeof OpcuaDebugModule;
    // Its first argument is a caller-context object; the text is the rest.
    const toLog = (...args: unknown[]): void => {
      const text = args.filter((a) => typeof a !== 'object' || a === null || a instanceof Error).map(String).join(' ');
      debugLog?.debug('node-opcua said.', { text: text.replace(/\s+/g, ' ').slice(0, 500) });
    };
    debug.setWarningLogger(toLog);
    debug.setErrorLogger(toLog);
    debug.setTraceLogger(toLog);
    loaded = {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      client: require('node-opcua-client') as typeof OpcuaClientModule,
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      certificates: require('node-opcua-certificate-manager') as typeof CertificateManagerModule,
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      crypto: require('node-opcua-crypto') as typeof CryptoModule,
    };
  }
  return loaded;
}
