/**
 * Registry actions: the register / promote / rollback / alias dialogs and the writes they
 * make. The registry commands (commands/registry.ts), the model view and the run detail's
 * "Register" buttons all go through these functions, so a gate refusal is reported the
 * same way wherever a promotion started. The views they open are in registryViews.ts.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { MMApiError } from './api/client';
import { servingVersion } from './serving';
import { ModelVersion, Stage } from './api/schema';
import { errorMessage, shortRunId } from './format';
import { IRegistryDeps } from './tokens';

/** Model names follow the registry's rule (store/registry_contract.py): checked before sending. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** Stages a version can be moved to (`none` is only where versions start). */
const TARGET_STAGES: readonly Stage[] = ['staging', 'production', 'archived'];

export function isTargetStage(value: string | null): value is Stage {
  return TARGET_STAGES.includes(value as Stage);
}

/** A dialog body of labelled text inputs; `getValue` hands the values to `showDialog`. */
class InputsBody
  extends Widget
  implements Dialog.IBodyWidget<Record<string, string>>
{
  constructor(
    intro: string,
    fields: { key: string; label: string; testid: string; value?: string }[]
  ) {
    super();
    this.addClass('jp-mm-DialogBody');
    const text = document.createElement('p');
    text.textContent = intro;
    this.node.appendChild(text);
    for (const field of fields) {
      const label = document.createElement('label');
      label.textContent = field.label;
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.dataset.testid = field.testid;
      input.value = field.value ?? '';
      label.appendChild(input);
      this.node.appendChild(label);
      this._inputs.set(field.key, input);
    }
  }

  getValue(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [key, input] of this._inputs) {
      values[key] = input.value.trim();
    }
    return values;
  }

  private _inputs = new Map<string, HTMLInputElement>();
}

async function askInputs(
  title: string,
  body: InputsBody,
  accept: string
): Promise<Record<string, string> | null> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })],
    focusNodeSelector: 'input'
  });
  return result.button.accept && result.value ? result.value : null;
}

/** The one place a failed registry write is reported; a 409 is a gate refusal. */
function reportFailure(
  deps: IRegistryDeps,
  model: string,
  error: unknown
): void {
  const message = errorMessage(error);
  if (error instanceof MMApiError && error.status === 409) {
    deps.state.refusals.set(model, message);
    deps.state.notify(model);
  }
  Notification.error(message, { autoClose: 10000 });
}

/** Ask for a model name and register the artifact of a run as its next version. */
export async function registerArtifact(
  deps: IRegistryDeps,
  runId: string,
  artifact: string
): Promise<ModelVersion | null> {
  const guess = artifact
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '-');
  const values = await askInputs(
    `Register ${artifact}`,
    new InputsBody(
      `Register the artifact "${artifact}" of run ${shortRunId(runId)} as a new model version.`,
      [
        {
          key: 'name',
          label: 'Model name',
          testid: 'mm-dialog-model-name',
          value: guess
        },
        {
          key: 'description',
          label: 'Description (optional)',
          testid: 'mm-dialog-description'
        }
      ]
    ),
    'Register'
  );
  if (!values) {
    return null;
  }
  if (!MODEL_NAME.test(values.name)) {
    Notification.error(
      `"${values.name}" is not a valid model name: use letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit.'
    );
    return null;
  }
  try {
    const version = await deps.client.registerModel({
      run_id: runId,
      artifact,
      name: values.name,
      description: values.description || null
    });
    Notification.success(
      `Registered ${version.model} version ${version.version}.`,
      {
        autoClose: 5000
      }
    );
    deps.state.notify(version.model);
    return version;
  } catch (error) {
    reportFailure(deps, values.name, error);
    return null;
  }
}

/** Ask for a reason and move a version to `stage` (promote, demote or archive). */
export async function promoteVersion(
  deps: IRegistryDeps,
  name: string,
  version: number,
  stage: Stage
): Promise<ModelVersion | null> {
  const force =
    stage === 'archived' && (await confirmArchiveServed(deps, name, version));
  if (force === null) {
    return null;
  }
  const values = await askInputs(
    `Move ${name} version ${version} to ${stage}`,
    new InputsBody('The reason is recorded in the audit trail.', [
      { key: 'reason', label: 'Reason', testid: 'mm-dialog-reason' }
    ]),
    `Move to ${stage}`
  );
  if (!values) {
    return null;
  }
  try {
    const moved = await deps.client.transition(
      name,
      version,
      stage,
      values.reason,
      force
    );
    deps.state.refusals.delete(name);
    deps.state.notify(name);
    return moved;
  } catch (error) {
    reportFailure(deps, name, error);
    return null;
  }
}

/**
 * Archiving a version a live `jupyter mm serve` serves needs a confirmation (the server
 * refuses it otherwise): true to send `force`, false when it is not served, null when the
 * user cancels. When the endpoints cannot be read, the server's own check decides.
 */
async function confirmArchiveServed(
  deps: IRegistryDeps,
  name: string,
  version: number
): Promise<boolean | null> {
  let serving: string[];
  try {
    serving = servingVersion(
      (await deps.client.modelEndpoints(name)).endpoints,
      version
    );
  } catch {
    return false;
  }
  if (serving.length === 0) {
    return false;
  }
  const answer = await showDialog({
    title: `Archive ${name} version ${version}?`,
    body:
      `It is being served by ${serving.join(', ')}. A server goes on serving an ` +
      'archived version until its reference names another version or it stops.',
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Archive anyway' })
    ]
  });
  return answer.button.accept ? true : null;
}

/** Ask for a reason and put the previous production version back. */
export async function rollbackModel(
  deps: IRegistryDeps,
  name: string
): Promise<void> {
  const values = await askInputs(
    `Roll back ${name}`,
    new InputsBody(
      'Production goes back to the version that held it before; the current one is archived.',
      [{ key: 'reason', label: 'Reason', testid: 'mm-dialog-reason' }]
    ),
    'Roll back'
  );
  if (!values) {
    return;
  }
  try {
    const result = await deps.client.rollback(name, values.reason);
    Notification.success(
      `${name}: version ${result.production.version} is in production again.`,
      { autoClose: 5000 }
    );
    deps.state.refusals.delete(name);
    deps.state.notify(name);
  } catch (error) {
    reportFailure(deps, name, error);
  }
}

/** Ask for an alias name and point it at a version (moving it from another version). */
export async function setAlias(
  deps: IRegistryDeps,
  name: string,
  version: number
): Promise<void> {
  const values = await askInputs(
    `Alias for ${name} version ${version}`,
    new InputsBody(
      `Code can then load "${name}@<alias>". An alias names one version at a time.`,
      [{ key: 'alias', label: 'Alias', testid: 'mm-dialog-alias' }]
    ),
    'Set alias'
  );
  if (!values) {
    return;
  }
  try {
    await deps.client.setAlias(name, values.alias, version);
    deps.state.notify(name);
  } catch (error) {
    reportFailure(deps, name, error);
  }
}

export async function removeAlias(
  deps: IRegistryDeps,
  name: string,
  alias: string
): Promise<void> {
  try {
    await deps.client.removeAlias(name, alias);
    deps.state.notify(name);
  } catch (error) {
    reportFailure(deps, name, error);
  }
}
