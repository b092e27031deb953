import { describe, expect, it } from "vitest";
import { api, freshId, push, token, watch } from "./helpers";

describe("redaction before storage and broadcast", () => {
  it("masks registered and well-known secrets for viewers and exports", async () => {
    const id = freshId();
    const t = await token();
    const viewer = await watch(id, t);
    await push(
      id,
      t,
      [
        { message: "deploying with hunter2-deploy-key" },
        { message: "GITHUB_TOKEN=ghp_fK8UXjzPM1Lzf356hwgGym4JAfnHARDcoded" },
        { message: "nothing secret" },
      ],
      { secrets: ["hunter2-deploy-key"] },
    );
    await viewer.until((v) => v.lines().length === 3);
    expect(viewer.lines().map((l) => [l.message, l.redaction_state])).toEqual([
      ["deploying with ***", "redacted"],
      ["GITHUB_TOKEN=***", "redacted"],
      ["nothing secret", "clean"],
    ]);
    const exported = await (
      await api(`/v1/deployments/${id}/export`, { token: t })
    ).text();
    expect(exported).not.toContain("hunter2-deploy-key");
    expect(exported).not.toContain("ghp_");
  });

  it("registers masks through /secrets for every later line", async () => {
    const id = freshId();
    const t = await token();
    const res = await api(`/v1/deployments/${id}/secrets`, {
      method: "POST",
      token: t,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ secrets: ["registry-password-123"] }),
    });
    expect(await res.json()).toEqual({ secrets: 1 });
    await push(id, t, [{ message: "docker login -p registry-password-123" }]);
    const exported = await (
      await api(`/v1/deployments/${id}/export`, { token: t })
    ).text();
    expect(exported).toBe("docker login -p ***\n");
  });

  it("masks a secret before splitting a long line, so no part leaks it", async () => {
    const id = freshId();
    const t = await token();
    const secret = "zz-split-secret-value-zz";
    const message = `${"a".repeat(8180)}${secret}${"b".repeat(100)}`;
    await push(id, t, [{ message }], { secrets: [secret] });
    const text = await (
      await api(`/v1/deployments/${id}/export`, { token: t })
    ).text();
    expect(text).toBe(`${"a".repeat(8180)}***${"b".repeat(100)}\n`);
  });

  it("refuses secrets that are too short with 400", async () => {
    const res = await api(`/v1/deployments/${freshId()}/secrets`, {
      method: "POST",
      token: await token(),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ secrets: ["ab"] }),
    });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { field: string } }>()).error.field).toBe(
      "secrets.0",
    );
  });
});
