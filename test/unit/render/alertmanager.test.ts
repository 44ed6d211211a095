import { parse } from "yaml";
import { renderAlertmanagerConfig, type AlertmanagerSpec } from "../../../render/alertmanager";
import { alertmanagerSpec } from "./data-services-specs";

type Route = { receiver: string; matchers?: string[]; continue?: boolean; repeat_interval?: string; routes?: Route[] };
const doc = (spec: AlertmanagerSpec = alertmanagerSpec()) => parse(renderAlertmanagerConfig(spec)) as { route: Route; receivers: Array<Record<string, Array<Record<string, unknown>>>>; inhibit_rules: unknown[] };

describe("renderAlertmanagerConfig", () => {
  it("snapshot", () => {
    expect(renderAlertmanagerConfig(alertmanagerSpec())).toMatchSnapshot();
  });

  it("routes the Watchdog first, to the heartbeat only, re-sent every few minutes", () => {
    const first = doc().route.routes![0]!;
    expect(first).toMatchObject({ receiver: "heartbeat", matchers: ['alertname="Watchdog"'], continue: false, repeat_interval: "5m" });
  });

  it("references every secret by file, never inline", () => {
    const text = renderAlertmanagerConfig(alertmanagerSpec());
    expect(text).toMatch(/api_url_file: \/run\/secrets\/senex-alert-slack-webhook/);
    expect(text).toMatch(/auth_password_file: /);
    expect(text).toMatch(/url_file: /);
    expect(text).not.toMatch(/api_url:|auth_password:|\burl: http/);
  });

  it.each<[string, Partial<AlertmanagerSpec>, RegExp]>([
    ["an unknown default receiver", { defaultReceiver: "nobody" }, /defaultReceiver/],
    ["an unknown heartbeat receiver", { heartbeatReceiver: "nobody" }, /heartbeatReceiver/],
    ["duplicate names", { receivers: [...alertmanagerSpec().receivers, { kind: "webhook", name: "heartbeat", urlFile: "/x" }] }, /used twice/],
    ["a relative secret path", { receivers: [{ kind: "slack", name: "heartbeat", apiUrlFile: "slack-url" }], defaultReceiver: "heartbeat", criticalReceivers: [] }, /apiUrlFile/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderAlertmanagerConfig({ ...alertmanagerSpec(), ...over })).toThrow(message);
  });
});
