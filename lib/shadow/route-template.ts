/**
 * The route template of a request path, e.g. `/orders/12?x=1` -> `/orders/:id`: the first
 * configured template (`shadow.routes`) whose segments fit (`:name` fits any one segment), else
 * the path with every numeric or uuid-like segment made `:id`, so figures group by route and not
 * by order number.
 */
export function routeTemplate(path: string, templates: readonly string[]): string {
  const segments = splitPath(path);
  for (const t of templates) {
    const ts = splitPath(t);
    if (ts.length === segments.length && ts.every((s, i) => s.startsWith(':') || s === segments[i])) return t;
  }
  return '/' + segments.map((s) => (/^\d+$/.test(s) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) || /^[0-9a-f]{24,}$/i.test(s) ? ':id' : s)).join('/');
}

function splitPath(path: string): string[] {
  return (path.split('?')[0] ?? '').split('/').filter((s) => s !== '');
}
