/**
 * The packages of a run's environment: the modules the run had imported first (what the
 * model was built with), every installed distribution on demand.
 */
import * as React from 'react';

function sortedEntries(values: Record<string, string>): [string, string][] {
  return Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
}

export function EnvironmentPackages(props: {
  /** imported top-level module -> version */
  modules: Record<string, string>;
  /** installed distribution -> version */
  packages: Record<string, string>;
}): JSX.Element {
  const modules = sortedEntries(props.modules ?? {});
  const packages = sortedEntries(props.packages ?? {});
  return (
    <>
      <p className="jp-mm-LineageLine" data-testid="mm-imported-modules">
        {modules.length > 0 ? (
          <>
            Imported by the run:{' '}
            {modules.map(([name, version]) => `${name} ${version}`).join(', ')}
          </>
        ) : (
          'No imported third-party module was recorded.'
        )}
      </p>
      {packages.length > 0 && (
        <details className="jp-mm-Packages" data-testid="mm-all-packages">
          <summary>All {packages.length} installed packages</summary>
          <ul className="jp-mm-PackageList">
            {packages.map(([name, version]) => (
              <li key={name}>
                {name}=={version}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}
