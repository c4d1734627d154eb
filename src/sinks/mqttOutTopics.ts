// The mqtt_out sink's topics: the configured templates (`anomalyd/{stream}/score`) filled in for one stream, alert
// kind or client. The config check (config/semantic.ts) refused templates without the placeholders they need
// and with wildcards, so what is filled in here only has to keep each value from breaking the topic.

export interface MqttOutTopicTemplates {
  readonly score: string;
  readonly alert: string;
  readonly status: string;
}

/**
 * A value as it goes into a topic: its "/" stay (a stream `line1/pump1` makes two levels, as in the plant's
 * own namespace), but the wildcards `+` and `#` and NUL, which a PUBLISH topic must not contain, become `_`,
 * so an odd stream id from a topic template cannot make the broker refuse (and disconnect) the publisher.
 */
export function topicValue(value: string): string {
  return value.replace(/[+#\u0000]/g, '_');
}

function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? topicValue(values[name] ?? '') : whole));
}

export class MqttOutTopics {
  constructor(private readonly templates: MqttOutTopicTemplates) {}

  score(stream: string): string {
    return fill(this.templates.score, { stream });
  }

  alert(stream: string, kind: string): string {
    return fill(this.templates.alert, { stream, kind });
  }

  status(clientId: string): string {
    return fill(this.templates.status, { client_id: clientId });
  }
}
