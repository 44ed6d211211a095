// One jest project per test tier; `npm run test:<tier>` selects one, scripts/test-all.sh runs them all.
const tier = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: "node",
  roots: ["<rootDir>/test/" + name],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
  ...extra,
});

module.exports = {
  projects: [
    tier("unit"),
    tier("graph"),
    tier("consumers"),
    tier("hosts"),
    tier("engine"),
  ],
};
