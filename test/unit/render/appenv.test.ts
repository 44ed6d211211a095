import fc from "fast-check";
import { APP_SECRET_ENV, CELERY_ENV_OVERRIDES, appEnvironment, appSecretRefs, renderAppEnv, renderAppSecretLines, type AppEnvSpec } from "../../../render/appenv";
import { defaultInput, deployment, type Phase } from "./phase-hosts";

const envOf = (spec: AppEnvSpec) => Object.fromEntries(appEnvironment(spec));

describe("renderAppEnv", () => {
  it.each<Phase>([1, 2, 3])("phase %i env file matches the snapshot", (phase) => {
    expect(renderAppEnv(deployment(defaultInput(phase)).env)).toMatchSnapshot();
  });

  it("phase 1: PostgreSQL directly on 5432, the four Redis databases on two instances", () => {
    const env = envOf(deployment(defaultInput(1)).env);
    expect(env).toMatchObject({
      DB_HOST: "10.0.1.10",
      DB_PORT: "5432",
      REDIS_CACHE_URL: "redis://10.0.1.10:6380/0",
      CHANNELS_REDIS_URL: "redis://10.0.1.10:6379/1",
      SENEX_CELERY_BROKER_URL: "redis://10.0.1.10:6379/2",
      SENEX_CELERY_RESULT_BACKEND: "redis://10.0.1.10:6379/3",
      ALLOWED_HOSTS: "senextrader.test,www.senextrader.test",
      CSRF_TRUSTED_ORIGINS: "https://senextrader.test,https://www.senextrader.test",
    });
  });

  it("phase 2: the database through PgBouncer on 6432, without persistent connections or server-side cursors", () => {
    const env = envOf(deployment(defaultInput(2)).env);
    expect(env).toMatchObject({ DB_HOST: "10.0.1.20", DB_PORT: "6432", DB_CONN_MAX_AGE: "0", DB_DISABLE_SERVER_SIDE_CURSORS: "True", SENEX_CELERY_BROKER_URL: "redis://10.0.1.30:6379/2" });
  });

  it("phase 3: Sentinel URLs for every sentinel with the master names", () => {
    const env = envOf(deployment(defaultInput(3)).env);
    expect(env.SENEX_CELERY_BROKER_URL).toBe("sentinel://10.0.1.31:26379/2;sentinel://10.0.1.32:26379/2;sentinel://10.0.1.33:26379/2");
    expect(env.SENEX_CELERY_RESULT_BACKEND).toBe("sentinel://10.0.1.31:26379/3;sentinel://10.0.1.32:26379/3;sentinel://10.0.1.33:26379/3");
    expect(env).toMatchObject({ REDIS_SENTINELS: "10.0.1.31:26379,10.0.1.32:26379,10.0.1.33:26379", REDIS_BROKER_MASTER: "senex-broker", REDIS_CACHE_MASTER: "senex-cache", CELERY_BROKER_MASTER_NAME: "senex-broker" });
    expect(env.REDIS_CACHE_URL).toBeUndefined();
  });

  it("holds no secret variable: those come from podman Secret= as environment variables", () => {
    for (const phase of [1, 2, 3] as Phase[]) {
      const env = envOf(deployment(defaultInput(phase)).env);
      for (const { variable } of APP_SECRET_ENV) expect(env[variable]).toBeUndefined();
    }
    expect(appSecretRefs()).toContainEqual({ name: "senex-django-secret-key", type: "env", target: "SECRET_KEY" });
    expect(renderAppSecretLines()).toContain("Secret=senex-db-app-password,type=env,target=DB_PASSWORD\n");
  });

  it("sets no variable Celery reads from the environment over its configuration (a password-less URL would win)", () => {
    for (const phase of [1, 2, 3] as Phase[]) {
      const env = envOf(deployment(defaultInput(phase)).env);
      for (const name of CELERY_ENV_OVERRIDES) expect([phase, name, env[name]]).toEqual([phase, name, undefined]);
      expect(env.SENEX_CELERY_BROKER_URL).toMatch(/^(redis|sentinel):\/\//);
    }
    const spec = deployment(defaultInput(1)).env;
    expect(() => renderAppEnv({ ...spec, extra: { CELERY_BROKER_URL: "redis://x:6379/2" } })).toThrow(/Celery reads it from the environment/);
  });

  it("names the media directory the app containers mount", () => {
    expect(envOf({ ...deployment(defaultInput(1)).env, mediaRoot: "/srv/media" }).MEDIA_ROOT).toBe("/srv/media");
  });

  it("refuses a secret variable or an override smuggled in through `extra`", () => {
    const spec = deployment(defaultInput(1)).env;
    expect(() => renderAppEnv({ ...spec, extra: { SECRET_KEY: "x" } })).toThrow(/`extra.SECRET_KEY` is a secret variable/);
    expect(() => renderAppEnv({ ...spec, extra: { DB_HOST: "x" } })).toThrow(/would override/);
  });

  it("refuses values podman and systemd would read differently, listing every one", () => {
    const spec = deployment(defaultInput(1)).env;
    expect(() => renderAppEnv({ ...spec, extra: { A: "two words", B: '"quoted"', C: "ok" } })).toThrow(/`A`: value "two words"[\s\S]*`B`: value/);
  });

  it("property: every rendered line is KEY=VALUE with a safe value, for random extra variables", () => {
    const spec = deployment(defaultInput(2)).env;
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^X_[A-Z0-9_]{1,10}$/), fc.string({ maxLength: 20 })), (extra) => {
        let text: string;
        try {
          text = renderAppEnv({ ...spec, extra });
        } catch (e) {
          expect(String(e)).toMatch(/read differently/);
          return;
        }
        for (const line of text.trimEnd().split("\n").slice(1)) expect(line).toMatch(/^[A-Za-z_][A-Za-z0-9_]*=[^\s"'\\#$`]*$/);
      }),
    );
  });
});
