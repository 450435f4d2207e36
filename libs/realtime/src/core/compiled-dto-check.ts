// A DTO's class-validator rules, looked up once and run without class-transformer or class-validator's
// per-call machinery (metadata search over every DTO class, error objects, promises): the accept path
// of hot frames. It only ever says "valid, here is the DTO" or "not proven valid"; every payload it
// does not accept goes through the ValidationPipe, which gives the error. So it may be incomplete,
// never different: it runs the constraint functions class-validator would run, in its order.
import type { Type } from '@nestjs/common';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';

// class-transformer's metadata storage (what ValidationPipe's plainToInstance reads) is exported only
// from a deep path that has no typings of its own.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerMetadataStorage;
};

/** The DTO built from the payload when every rule passes; undefined when the payload needs the pipe. */
export type DtoCheck<T extends object> = (payload: unknown) => T | undefined;

interface PropertyCheck {
  property: string;
  /** ValidateIf / IsOptional: all must be true for the rules to run. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  /** IsDefined first, then the other rules, as class-validator orders them. */
  rules: Array<{
    validate: (value: unknown, args: ValidationArguments) => unknown;
    args: ValidationArguments;
  }>;
}

/** Metadata types the check reproduces; a DTO with any other (nested, promise) is left to the pipe. */
const SUPPORTED = new Set<string>([
  ValidationTypes.CUSTOM_VALIDATION,
  ValidationTypes.CONDITIONAL_VALIDATION,
  ValidationTypes.IS_DEFINED,
  ValidationTypes.WHITELIST,
]);

/**
 * Compiles the check of a DTO validated as RealtimeValidationPipe does (no groups, whitelist, no
 * implicit conversion). Returns null when the DTO uses something the check does not reproduce:
 * groups, `each`, `validateIf`, async constraints, nested or promise validation, or any
 * class-transformer decorator.
 */
export function compileDtoCheck<T extends object>(dto: Type<T>): DtoCheck<T> | null {
  if (hasTransformerMetadata(dto)) return null;
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false, undefined);
  if (metadatas.length === 0) return null;
  const byProperty = new Map<string, PropertyCheck>();
  const defined: Array<[string, PropertyCheck['rules'][number]]> = [];
  for (const metadata of metadatas) {
    if (!SUPPORTED.has(metadata.type)) return null;
    if (metadata.each || metadata.validateIf || (metadata.groups && metadata.groups.length > 0)) return null;
    let check = byProperty.get(metadata.propertyName);
    if (!check) {
      check = { property: metadata.propertyName, conditions: [], rules: [] };
      byProperty.set(metadata.propertyName, check);
    }
    if (metadata.type === ValidationTypes.WHITELIST) continue;
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      const condition = (metadata.constraints as unknown[] | undefined)?.[0];
      if (typeof condition !== 'function') return null;
      check.conditions.push(condition as (object: object, value: unknown) => boolean);
      continue;
    }
    for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
      if (constraint.async) return null;
      const instance = constraint.instance as {
        validate: (value: unknown, args: ValidationArguments) => unknown;
      };
      const rule = {
        validate: instance.validate.bind(instance),
        // One arguments object per rule, filled in per call (the check is synchronous).
        args: {
          targetName: dto.name,
          property: metadata.propertyName,
          object: {},
          value: undefined,
          constraints: (metadata.constraints as unknown[] | undefined) ?? [],
        },
      };
      if (metadata.type === ValidationTypes.IS_DEFINED) defined.push([metadata.propertyName, rule]);
      else check.rules.push(rule);
    }
  }
  for (const [property, rule] of defined) byProperty.get(property)?.rules.unshift(rule);
  const checks = [...byProperty.values()];
  const keys = checks.map((check) => check.property);

  return (payload: unknown): T | undefined => {
    // Only a plain object of primitive values is built here exactly as class-transformer would.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
    const proto = Object.getPrototypeOf(payload) as unknown;
    if (proto !== Object.prototype && proto !== null) return undefined;
    const source = payload as Record<string, unknown>;
    const instance = new dto() as Record<string, unknown>;
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(source, key)) continue;
      const value = source[key];
      if (value !== null && typeof value === 'object') return undefined;
      if (typeof value === 'function') return undefined;
      instance[key] = value;
    }
    for (const check of checks) {
      const value = instance[check.property];
      let applies = true;
      for (const condition of check.conditions) applies = condition(instance, value) && applies;
      if (!applies) continue;
      for (const rule of check.rules) {
        rule.args.object = instance;
        rule.args.value = value;
        if (!rule.validate(value, rule.args)) return undefined;
      }
    }
    return instance as T;
  };
}

/** Any class-transformer decorator on the DTO or its ancestors changes what the pipe builds. */
function hasTransformerMetadata(dto: Type<object>): boolean {
  return (
    defaultMetadataStorage.getExposedMetadatas(dto).length > 0 ||
    defaultMetadataStorage.getExcludedMetadatas(dto).length > 0 ||
    defaultMetadataStorage.getStrategy(dto) !== 'none' ||
    hasPerPropertyMetadata(dto)
  );
}

function hasPerPropertyMetadata(dto: Type<object>): boolean {
  const storage = getMetadataStorage();
  for (const metadata of storage.getTargetValidationMetadatas(dto, '', false, false, undefined)) {
    const property = metadata.propertyName;
    if (defaultMetadataStorage.findTypeMetadata(dto, property)) return true;
    for (const type of [0, 1, 2]) {
      if (defaultMetadataStorage.findTransformMetadatas(dto, property, type).length > 0) return true;
    }
  }
  return false;
}
