// alertmanager.yml from a typed list of receivers. Every secret (SMTP password, Slack webhook,
// heartbeat URL with its token) is referenced by a *_file path that the provider fills from a
// podman secret, so the rendered file can be shown in a plan and committed to state as is.
import { stringify } from "yaml";
import { absolutePath, intInRange } from "./conf-syntax";

/** A place alerts go. */
export type AlertReceiver =
  | {
      readonly kind: "email";
      /** Receiver name (referenced by routes). */
      readonly name: string;
      /** Recipient addresses. */
      readonly to: readonly string[];
      /** Sender address. */
      readonly from: string;
      /** SMTP relay, host:port (587 with STARTTLS). */
      readonly smarthost: string;
      /** SMTP login, if the relay wants one. */
      readonly authUsername?: string;
      /** File holding the SMTP password (0600); needs authUsername. */
      readonly authPasswordFile?: string;
    }
  | {
      readonly kind: "slack";
      readonly name: string;
      /** File holding the incoming-webhook URL (the URL is the secret). */
      readonly apiUrlFile: string;
      /** Channel override, e.g. "#ops". */
      readonly channel?: string;
    }
  | {
      readonly kind: "webhook";
      readonly name: string;
      /** File holding the URL (heartbeat services put a token in it). */
      readonly urlFile: string;
    }
  | {
      /**
       * A receiver with no integration: what it gets is dropped (still listed in Alertmanager's UI
       * and API). Routes need a receiver to be valid, so a stack without destinations — or the
       * Watchdog without a heartbeat URL — routes here rather than to a made-up address.
       */
      readonly kind: "null";
      readonly name: string;
    };

/** Typed input of alertmanager.yml. */
export interface AlertmanagerSpec {
  /** Receivers; names must be unique. */
  readonly receivers: readonly AlertReceiver[];
  /** Receiver that gets every alert no other route takes. */
  readonly defaultReceiver: string;
  /** Receiver of the always-firing Watchdog alert (a heartbeat URL that pages when it goes quiet). */
  readonly heartbeatReceiver: string;
  /** How often a heartbeat is re-sent, in minutes. Default 5. */
  readonly heartbeatIntervalMinutes?: number;
  /** Receivers that additionally get critical alerts (e.g. email besides Slack). */
  readonly criticalReceivers?: readonly string[];
}

function receiverConfig(r: AlertReceiver): Record<string, unknown> {
  switch (r.kind) {
    case "email": {
      if (r.to.length === 0) throw new Error(`\`receivers.${r.name}.to\` must list at least one address`);
      if (!/^[^\s:]+:\d+$/.test(r.smarthost)) throw new Error(`\`receivers.${r.name}.smarthost\` must be host:port`);
      if (r.authPasswordFile !== undefined && r.authUsername === undefined) {
        throw new Error(`\`receivers.${r.name}.authPasswordFile\` needs \`authUsername\``);
      }
      return {
        name: r.name,
        email_configs: [
          {
            to: r.to.join(", "),
            from: r.from,
            smarthost: r.smarthost,
            require_tls: true,
            send_resolved: true,
            ...(r.authUsername !== undefined ? { auth_username: r.authUsername } : {}),
            ...(r.authPasswordFile !== undefined ? { auth_password_file: absolutePath(`receivers.${r.name}.authPasswordFile`, r.authPasswordFile) } : {}),
          },
        ],
      };
    }
    case "slack":
      return {
        name: r.name,
        slack_configs: [
          {
            api_url_file: absolutePath(`receivers.${r.name}.apiUrlFile`, r.apiUrlFile),
            send_resolved: true,
            ...(r.channel !== undefined ? { channel: r.channel } : {}),
            title: '{{ .Status | toUpper }} {{ .CommonLabels.alertname }}',
            text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
          },
        ],
      };
    case "webhook":
      return {
        name: r.name,
        webhook_configs: [{ url_file: absolutePath(`receivers.${r.name}.urlFile`, r.urlFile), send_resolved: false }],
      };
    case "null":
      return { name: r.name };
    default: {
      const never: never = r;
      throw new Error(`unknown receiver ${JSON.stringify(never)}`);
    }
  }
}

/** Renders alertmanager.yml. */
export function renderAlertmanagerConfig(spec: AlertmanagerSpec): string {
  const names = new Set<string>();
  for (const [i, r] of spec.receivers.entries()) {
    if (!/^[A-Za-z0-9_-]+$/.test(r.name)) throw new Error(`\`receivers[${i}].name\` must match [A-Za-z0-9_-]+`);
    if (names.has(r.name)) throw new Error(`\`receivers[${i}].name\` ${r.name} is used twice`);
    names.add(r.name);
  }
  const known = (field: string, n: string): string => {
    if (!names.has(n)) throw new Error(`\`${field}\` names receiver ${n}, which is not in \`receivers\``);
    return n;
  };
  const heartbeat = known("heartbeatReceiver", spec.heartbeatReceiver);
  const beat = intInRange("heartbeatIntervalMinutes", spec.heartbeatIntervalMinutes ?? 5, 1, 60);
  const doc = {
    route: {
      receiver: known("defaultReceiver", spec.defaultReceiver),
      group_by: ["alertname", "host"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        {
          // The dead-man's switch goes to the heartbeat only, re-sent often, and stops there.
          receiver: heartbeat,
          matchers: ['alertname="Watchdog"'],
          group_wait: "0s",
          group_interval: `${beat}m`,
          repeat_interval: `${beat}m`,
          continue: false,
        },
        ...(spec.criticalReceivers ?? []).map((n, i) => ({
          receiver: known(`criticalReceivers[${i}]`, n),
          matchers: ['severity="critical"'],
          continue: true,
        })),
        // A matching child route hides the parent's receiver, so the default gets its own
        // catch-all child: critical alerts reach both the critical receivers and the default.
        { receiver: spec.defaultReceiver },
      ],
    },
    inhibit_rules: [
      {
        // A host that is down explains every other alert from it.
        source_matchers: ['alertname="InstanceDown"'],
        target_matchers: ['alertname!="InstanceDown"', 'alertname!="Watchdog"'],
        equal: ["host"],
      },
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "host"],
      },
    ],
    receivers: spec.receivers.map(receiverConfig),
  };
  return "# Rendered by senex-infra; secrets are only referenced by *_file paths.\n" + stringify(doc, { lineWidth: 0 });
}
