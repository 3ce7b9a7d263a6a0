import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../durable-objects/group-commit";

/** A storage whose commits finish only when the test says so, in order. */
function manualStorage() {
  const commits: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    commits,
    storage: {
      sync: () =>
        new Promise<void>((resolve, reject) => {
          commits.push({ resolve, reject });
        }),
    },
  };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("GroupCommit", () => {
  it("runs a write at once when idle, and answers it only once its commit is durable", async () => {
    const { storage, commits } = manualStorage();
    const group = new GroupCommit(storage);
    const ran: string[] = [];
    let answered = false;
    const p = group
      .submit(() => ran.push("a"))
      .then(() => {
        answered = true;
      });
    expect(ran).toEqual(["a"]); // no delay for an idle object
    await settled();
    expect(answered).toBe(false);
    commits[0]!.resolve();
    await p;
    expect(answered).toBe(true);
  });

  it("writes everything that arrived during a commit together, in arrival order, in the next one", async () => {
    const { storage, commits } = manualStorage();
    const group = new GroupCommit(storage);
    const ran: number[] = [];
    const answered: number[] = [];
    const submit = (n: number) =>
      group
        .submit(() => {
          ran.push(n);
          return n * 10;
        })
        .then((v) => answered.push(v));
    const all = [submit(1), submit(2), submit(3), submit(4)];
    expect(ran).toEqual([1]); // 2–4 wait for the commit in flight
    await settled();
    expect(commits).toHaveLength(1);
    commits[0]!.resolve();
    await settled();
    expect(ran).toEqual([1, 2, 3, 4]); // one group for 2, 3 and 4
    expect(answered).toEqual([10]); // theirs is not durable yet
    expect(commits).toHaveLength(2);
    commits[1]!.resolve();
    await Promise.all(all);
    expect(answered).toEqual([10, 20, 30, 40]);
    expect(group.stats).toEqual({ commits: 2, writes: 4 });
  });

  it("a throwing write fails alone; a failed commit fails its whole group and the next group still runs", async () => {
    const { storage, commits } = manualStorage();
    const group = new GroupCommit(storage);
    const first = group.submit(() => 1);
    const bad = group.submit(() => {
      throw new Error("bad write");
    });
    const good = group.submit(() => 2);
    commits[0]!.resolve();
    await settled();
    commits[1]!.resolve();
    await expect(first).resolves.toBe(1);
    await expect(bad).rejects.toThrow("bad write");
    await expect(good).resolves.toBe(2);

    const lost = group.submit(() => 3);
    const next = group.submit(() => 4);
    commits[2]!.reject(new Error("disk gone"));
    await expect(lost).rejects.toThrow("disk gone");
    await settled();
    commits[3]!.resolve();
    await expect(next).resolves.toBe(4);
  });
});
