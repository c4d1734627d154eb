// Retraining's `source: influx`: a stream's history read from InfluxDB by `train --influx-query`'s reader
// (influxHistory.ts), so a retrain leaves out exactly what `train` leaves out (the stream's alerts unless labelled
// false_positive, and maintenance windows). Given to the daemon by `run` (app/ cannot import offline/).
import type { InfluxWindows, InfluxWindowsRequest } from '../app/retrainer';
import type { Config } from '../config/schema';
import { historyTarget, windowsFromInflux } from './influxHistory';

export async function retrainInfluxHistory(config: Config, request: InfluxWindowsRequest): Promise<InfluxWindows> {
  const { target, alertsDatabase } = historyTarget(config.sinks.influx, undefined);
  const h = await windowsFromInflux({ target, query: request.query, alertsDatabase, stream: request.stream, window: request.window, alertWindows: request.alertWindows });
  return { windows: h.windows, excluded: h.excluded, falsePositives: h.falsePositives, insufficient: h.insufficient };
}
