// The security commands of edgelog: principals and their API keys, ACLs (Kafka's model).
import { Option } from "commander";
import { UsageError } from "./options.mjs";

/** Adds `principal …` and `acl …` to the program; `client`, `json`, `print` are the CLI's. */
export function addSecurityCommands(program, { client, json, print }) {
  const principal = program.command("principal").description("principals and their API keys");
  principal.command("list").action(async () => {
    const principals = await client().admin.listPrincipals();
    if (json()) print(principals);
    else
      for (const p of principals)
        print(`${p.principal}\t${p.keys.map((k) => k.keyId).join(" ") || "(no keys)"}`);
  });
  principal.command("create-key <principal>").action(async (name) => {
    const key = await client().admin.createApiKey(name);
    print(json() ? key : `${key.token}\n(key ${key.keyId} of ${key.principal}: the token is shown once)`);
  });
  principal.command("delete-key <principal> <keyId>").action(async (name, keyId) => {
    await client().admin.deleteApiKey(name, keyId);
    print(`deleted key ${keyId} of ${name}`);
  });

  const aclFields = (cmd) =>
    cmd
      .option("--principal <principal>")
      .addOption(
        new Option("--resource-type <type>").choices(["topic", "group", "cluster", "transactionalId"]),
      )
      .addOption(new Option("--pattern-type <type>").choices(["literal", "prefixed"]))
      .option("--resource-name <name>")
      .addOption(
        new Option("--operation <op>").choices([
          "read",
          "write",
          "create",
          "delete",
          "alter",
          "describe",
          "all",
        ]),
      )
      .addOption(new Option("--permission <permission>").choices(["allow", "deny"]));
  const aclOf = (o) =>
    Object.fromEntries(
      Object.entries({
        principal: o.principal,
        resourceType: o.resourceType,
        patternType: o.patternType,
        resourceName: o.resourceName,
        operation: o.operation,
        permission: o.permission,
      }).filter(([, v]) => v !== undefined),
    );
  const acl = program.command("acl").description("ACLs (Kafka's model)");
  aclFields(acl.command("list")).action(async (o) => {
    const acls = await client().admin.listAcls(aclOf(o));
    if (json()) print(acls);
    else
      for (const a of acls)
        print(
          `${a.principal}\t${a.permission} ${a.operation}\t${a.resourceType} ${a.patternType} ${a.resourceName}`,
        );
  });
  aclFields(acl.command("add")).action(async (o) => {
    const given = aclOf({ patternType: "literal", permission: "allow", ...o });
    for (const field of ["principal", "resourceType", "resourceName", "operation"])
      if (given[field] === undefined)
        throw new UsageError(`acl add needs --${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    print(
      json()
        ? await client().admin.createAcl(given)
        : `added ${JSON.stringify(await client().admin.createAcl(given))}`,
    );
  });
  aclFields(acl.command("delete")).action(async (o) => {
    const deleted = await client().admin.deleteAcls(aclOf(o));
    print(json() ? { deleted } : `deleted ${deleted} ACLs`);
  });
}
