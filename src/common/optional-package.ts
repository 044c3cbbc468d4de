/**
 * Whether `err` says that one of `packages` is not installed (as opposed to a package that is there
 * but failed to load, which must not be hidden).
 */
export function isMissingPackage(err: unknown, packages: readonly string[]): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return packages.some((name) => message?.includes(`'${name}'`) || message?.includes(`"${name}"`));
}

/**
 * Loads what a feature needs from optional packages; when one is not installed, fails with one
 * message naming every package the feature needs and the command that installs them.
 */
export async function loadOptional<T>(load: () => Promise<T>, feature: string, packages: readonly string[]): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (!isMissingPackage(err, packages)) throw err;
    throw new Error(`${feature} needs ${packages.join(', ')}, which are not installed: npm install ${packages.join(' ')}`, { cause: err });
  }
}
