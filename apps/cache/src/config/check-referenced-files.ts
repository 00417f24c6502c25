/**
 * What check-config and serve check in the files a configuration names, before anything
 * listens: each can be read; the TLS certificate and key load as a pair (not swapped, not from
 * two different pairs); every CA bundle holds certificates that parse; a Docker config is JSON.
 * Each problem names the key, the file and what is wrong with it.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { CliContext } from "../cli/cli-context.js";
import { type ReferencedFile, referencedFiles } from "./referenced-files.js";

type FileReader = Pick<CliContext, "readTextFile">;

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemLabels(text: string): string[] {
  return [...text.matchAll(pemBlock)].map((match) => match[1] ?? "");
}

function describeContent(text: string): string {
  const labels = pemLabels(text);
  if (labels.length === 0) return text.trim() === "" ? "it is empty" : "it holds no PEM block";
  return `it holds ${labels.map((label) => label.toLowerCase()).join(", ")}`;
}

async function read(reader: FileReader, file: string): Promise<string | Error> {
  try {
    return await reader.readTextFile(file);
  } catch (error) {
    return error as Error;
  }
}

function unreadable(reference: ReferencedFile, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  return `${reference.key}: ${reference.file} cannot be read (${code})`;
}

function parseCertificate(text: string): X509Certificate | undefined {
  try {
    return new X509Certificate(text);
  } catch {
    return undefined;
  }
}

function parsePrivateKey(text: string): KeyObject | undefined {
  try {
    return createPrivateKey(text);
  } catch {
    return undefined;
  }
}

function checkCaBundle(reference: ReferencedFile, text: string): string[] {
  const blocks = [...text.matchAll(pemBlock)];
  const certificates = blocks.filter((block) => block[1] === "CERTIFICATE");
  if (certificates.length === 0) {
    return [
      `${reference.key}: ${reference.file} holds no PEM certificate (${describeContent(text)}); expected one or more "BEGIN CERTIFICATE" blocks`,
    ];
  }
  return certificates.flatMap((block, index) =>
    parseCertificate(block[0]) === undefined
      ? [`${reference.key}: ${reference.file}: certificate ${index + 1} does not parse`]
      : [],
  );
}

function checkTlsPair(
  certificateReference: ReferencedFile,
  certificateText: string,
  keyReference: ReferencedFile,
  keyText: string,
): string[] {
  const problems: string[] = [];
  const certificate = parseCertificate(certificateText);
  const key = parsePrivateKey(keyText);
  const swapped =
    certificate === undefined &&
    key === undefined &&
    parsePrivateKey(certificateText) !== undefined &&
    parseCertificate(keyText) !== undefined;
  if (swapped) {
    return [
      `${certificateReference.key}: ${certificateReference.file} holds a private key and ${keyReference.key} ${keyReference.file} a certificate: are http.tls.certificate and http.tls.key swapped?`,
    ];
  }
  if (certificate === undefined) {
    problems.push(
      `${certificateReference.key}: ${certificateReference.file} holds no PEM certificate (${describeContent(certificateText)})`,
    );
  }
  if (key === undefined) {
    problems.push(
      `${keyReference.key}: ${keyReference.file} holds no PEM private key (${describeContent(keyText)})`,
    );
  }
  if (certificate !== undefined && key !== undefined && !certificate.checkPrivateKey(key)) {
    problems.push(
      `${keyReference.key}: the key in ${keyReference.file} does not belong to the certificate in ${certificateReference.file} (${certificate.subject.replace(/\n/g, ", ")}): they are from different pairs`,
    );
  }
  return problems;
}

/** Every problem with the files `config` names, one line each; empty when all are usable. */
export async function checkReferencedFiles(
  config: EffectiveCacheConfig,
  reader: FileReader,
): Promise<string[]> {
  const problems: string[] = [];
  const texts = new Map<ReferencedFile, string>();
  for (const reference of referencedFiles(config)) {
    const text = await read(reader, reference.file);
    if (text instanceof Error) problems.push(unreadable(reference, text));
    else texts.set(reference, text);
  }
  const certificate = [...texts.keys()].find((reference) => reference.kind === "tls-certificate");
  const key = [...texts.keys()].find((reference) => reference.kind === "tls-key");
  if (certificate !== undefined && key !== undefined) {
    problems.push(
      ...checkTlsPair(certificate, texts.get(certificate) ?? "", key, texts.get(key) ?? ""),
    );
  }
  for (const [reference, text] of texts) {
    if (reference.kind === "ca-bundle") problems.push(...checkCaBundle(reference, text));
    if (reference.kind === "docker-config") {
      try {
        JSON.parse(text);
      } catch {
        problems.push(`${reference.key}: ${reference.file} is not JSON`);
      }
    }
  }
  return problems;
}
