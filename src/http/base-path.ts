/** Whether a request's URL (relative to where the library is mounted) is one of the library's: basePath, or under it. */
export function underBasePath(url: string, basePath: string): boolean {
  return url === basePath || url.startsWith(`${basePath}/`) || url.startsWith(`${basePath}?`);
}
