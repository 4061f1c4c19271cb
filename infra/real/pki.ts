/**
 * The real control plane's credentials, generated once per data directory: a CA, the API server's serving
 * certificate signed by it (127.0.0.1 and the in-cluster names), the service-account signing key pair, and the
 * static tokens of the admin user and of kube-controller-manager. Keys come from node:crypto; node-forge only
 * builds and signs the X.509 certificates, which node:crypto cannot create.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caCertPem: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  /** The token-auth file kube-apiserver reads. */
  readonly tokenFile: string;
  readonly adminToken: string;
  readonly controllerManagerToken: string;
}

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function rsaPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

function certificate(options: {
  subjectCn: string;
  publicKeyPem: string;
  issuer: { cn: string; keyPem: string };
  ca: boolean;
  altNames?: { dns: string[]; ips: string[] };
  /** A leaf's extended key usage (default a server's). */
  usage?: "server" | "client";
}): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(options.publicKeyPem);
  // A positive serial (the high bit clear): RFC 5280 §4.1.2.2.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + TEN_YEARS_MS);
  cert.setSubject([{ name: "commonName", value: options.subjectCn }]);
  cert.setIssuer([{ name: "commonName", value: options.issuer.cn }]);
  const extensions: object[] = [{ name: "basicConstraints", cA: options.ca, critical: true }];
  if (options.ca) {
    extensions.push({
      name: "keyUsage",
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: true,
      critical: true,
    });
  } else {
    const altNames = [
      ...(options.altNames?.dns ?? []).map((value) => ({ type: 2, value })),
      ...(options.altNames?.ips ?? []).map((ip) => ({ type: 7, ip })),
    ];
    extensions.push(
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      options.usage === "client"
        ? { name: "extKeyUsage", clientAuth: true }
        : { name: "extKeyUsage", serverAuth: true },
    );
    // A client certificate names no hosts; an empty SubjectAltName is invalid (RFC 5280 §4.2.1.6).
    if (altNames.length > 0) extensions.push({ name: "subjectAltName", altNames });
  }
  cert.setExtensions(extensions);
  cert.sign(forge.pki.privateKeyFromPem(options.issuer.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * A serving certificate for 127.0.0.1 and localhost signed by the CA in `ca.dir` (an admission webhook the API
 * server calls, or the local cluster's own HTTPS), so a client's trust is that CA. Written once per directory.
 */
export function ensureServingCert(
  ca: { readonly dir: string },
  name: string,
  extraDnsNames: readonly string[] = [],
): { cert: string; key: string } {
  const certPath = join(ca.dir, `${name}.crt`);
  const keyPath = join(ca.dir, `${name}.key`);
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const pair = rsaPair();
    writeFileSync(keyPath, pair.privateKey, { mode: 0o600 });
    writeFileSync(
      certPath,
      certificate({
        subjectCn: name,
        publicKeyPem: pair.publicKey,
        issuer: { cn: caName(ca.dir), keyPem: readFileSync(join(ca.dir, "ca.key"), "utf8") },
        ca: false,
        altNames: { dns: ["localhost", ...extraDnsNames], ips: ["127.0.0.1"] },
      }),
      { mode: 0o600 },
    );
  }
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/**
 * A client certificate with common name `cn` signed by the CA in `ca.dir` (kube-apiserver's front-proxy client,
 * which the aggregation layer presents to an extension API server). Written once per directory.
 */
export function ensureClientCert(
  ca: { readonly dir: string },
  name: string,
  cn: string,
): { certPath: string; keyPath: string } {
  const certPath = join(ca.dir, `${name}.crt`);
  const keyPath = join(ca.dir, `${name}.key`);
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const pair = rsaPair();
    writeFileSync(keyPath, pair.privateKey, { mode: 0o600 });
    writeFileSync(
      certPath,
      certificate({
        subjectCn: cn,
        publicKeyPem: pair.publicKey,
        issuer: { cn: caName(ca.dir), keyPem: readFileSync(join(ca.dir, "ca.key"), "utf8") },
        ca: false,
        usage: "client",
      }),
      { mode: 0o600 },
    );
  }
  return { certPath, keyPath };
}

/** The common name of the CA in `dir`: a certificate's issuer must name its signer's subject. */
function caName(dir: string): string {
  const subject = forge.pki.certificateFromPem(readFileSync(join(dir, "ca.crt"), "utf8")).subject;
  return String(subject.getField("CN")?.value ?? "");
}

/** A self-signed CA (`ca.crt`, `ca.key`) in `dir`, created once; returns its PEM certificate. */
export function ensureCa(dir: string, cn: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const ca = rsaPair();
    writeFileSync(keyPath, ca.privateKey, { mode: 0o600 });
    writeFileSync(
      certPath,
      certificate({
        subjectCn: cn,
        publicKeyPem: ca.publicKey,
        issuer: { cn, keyPem: ca.privateKey },
        ca: true,
      }),
      { mode: 0o600 },
    );
  }
  return readFileSync(certPath, "utf8");
}

/** Loads the credentials in `dir`, generating whatever is missing. */
export function ensurePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (name: string) => join(dir, name);
  const write = (name: string, text: string) => writeFileSync(path(name), text, { mode: 0o600 });

  ensureCa(dir, "vmpool-real-ca");
  if (!existsSync(path("apiserver.crt")) || !existsSync(path("apiserver.key"))) {
    const serving = rsaPair();
    write("apiserver.key", serving.privateKey);
    write(
      "apiserver.crt",
      certificate({
        subjectCn: "kube-apiserver",
        publicKeyPem: serving.publicKey,
        issuer: { cn: "vmpool-real-ca", keyPem: readFileSync(path("ca.key"), "utf8") },
        ca: false,
        altNames: {
          dns: [
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
          ],
          // 10.96.0.1: the `kubernetes` Service's ClusterIP in the service range kube-apiserver is given.
          ips: ["127.0.0.1", "10.96.0.1"],
        },
      }),
    );
  }
  if (!existsSync(path("sa.key")) || !existsSync(path("sa.pub"))) {
    const sa = rsaPair();
    write("sa.key", sa.privateKey);
    write("sa.pub", sa.publicKey);
  }
  if (!existsSync(path("tokens.csv"))) {
    // token,user,uid,"groups": kube-apiserver's static token file format.
    const admin = randomBytes(24).toString("hex");
    const kcm = randomBytes(24).toString("hex");
    write(
      "tokens.csv",
      `${admin},vmpool-admin,vmpool-admin,"system:masters"\n${kcm},system:kube-controller-manager,system:kube-controller-manager,"system:masters"\n`,
    );
  }
  const [adminLine = "", kcmLine = ""] = readFileSync(path("tokens.csv"), "utf8").trim().split("\n");
  return {
    dir,
    caCert: path("ca.crt"),
    caCertPem: readFileSync(path("ca.crt"), "utf8"),
    servingCert: path("apiserver.crt"),
    servingKey: path("apiserver.key"),
    serviceAccountKey: path("sa.key"),
    serviceAccountPub: path("sa.pub"),
    tokenFile: path("tokens.csv"),
    adminToken: adminLine.split(",")[0] ?? "",
    controllerManagerToken: kcmLine.split(",")[0] ?? "",
  };
}
