// A DTO's class-validator rules, looked up once and run without class-transformer or class-validator's
// per-call machinery (metadata search over every DTO class, error objects, promises): the accept path
// of hot frames. It only ever says "valid, here is the DTO" or "not proven valid"; every payload it
// does not accept goes through the ValidationPipe, which gives the error. So it may be incomplete,
// never different: it runs the constraint functions class-validator would run, in its order.
import type { Type } from '@nestjs/common';
import { dirname } from 'path';
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
 * groups, `each`, `validateIf`, async constraints, nested or promise validation, any
 * class-transformer decorator, accessors or methods named like a checked property, or fields that
 * the pipe's whitelist would strip from a new instance. Also null when ValidationPipe would load
 * another copy of class-transformer than this module reads the decorators from.
 */
export function compileDtoCheck<T extends object>(dto: Type<T>): DtoCheck<T> | null {
  if (!sharesClassTransformerWithNest() || hasTransformerMetadata(dto)) return null;
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
        // One arguments object per rule, filled in per call and emptied after (the check is
        // synchronous).
        args: {
          targetName: dto.name,
          property: metadata.propertyName,
          object: EMPTY,
          value: undefined as unknown,
          constraints: metadata.constraints,
        },
      };
      if (metadata.type === ValidationTypes.IS_DEFINED) defined.push([metadata.propertyName, rule]);
      else check.rules.push(rule);
    }
  }
  for (const [property, rule] of defined) byProperty.get(property)?.rules.unshift(rule);
  const checks = [...byProperty.values()];
  const keys = checks.map((check) => check.property);
  if (!isPlainDataClass(dto, keys)) return null;
  const rules = checks.flatMap((check) => check.rules);

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
    const valid = passes(checks, instance);
    // The arguments objects do not keep the last payload alive.
    for (const rule of rules) {
      rule.args.object = EMPTY;
      rule.args.value = undefined;
    }
    return valid ? (instance as T) : undefined;
  };
}

/**
 * Every rule of every property that applies, as class-validator runs them. Only `true` passes: a
 * validator may return a promise without being declared async, and class-validator would await it.
 */
function passes(checks: PropertyCheck[], instance: Record<string, unknown>): boolean {
  for (const check of checks) {
    const value = instance[check.property];
    let applies = true;
    for (const condition of check.conditions) applies = condition(instance, value) && applies;
    if (!applies) continue;
    for (const rule of check.rules) {
      rule.args.object = instance;
      rule.args.value = value;
      if (rule.validate(value, rule.args) !== true) return false;
    }
  }
  return true;
}

/**
 * The instance is built by plain assignment, as class-transformer builds it, only when that is all
 * class-transformer would do: no accessor or method on the prototype chain under a checked name
 * (class-transformer skips those keys; an assignment could throw or run a setter), and no field of a
 * new instance that the whitelist would delete (an undecorated field or initializer).
 */
function isPlainDataClass(dto: Type<object>, keys: string[]): boolean {
  for (let proto = dto.prototype as object | null; proto && proto !== Object.prototype;) {
    for (const key of keys) if (Object.getOwnPropertyDescriptor(proto, key)) return false;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  const known = new Set(keys);
  return Object.keys(new dto()).every((key) => known.has(key));
}

let sharedTransformer: boolean | undefined;

/** ValidationPipe loads class-transformer from @nestjs/common: the same copy as this module's? */
function sharesClassTransformerWithNest(): boolean {
  if (sharedTransformer === undefined) {
    try {
      const nestCommon = dirname(require.resolve('@nestjs/common'));
      sharedTransformer =
        require.resolve('class-transformer', { paths: [nestCommon] }) ===
        require.resolve('class-transformer');
    } catch {
      // Either package cannot be resolved from here: the pipe alone validates.
      sharedTransformer = false;
    }
  }
  return sharedTransformer;
}

const EMPTY: object = Object.freeze({});

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
