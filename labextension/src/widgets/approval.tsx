/**
 * The main-area review of one approval request: the request with its gates and metrics
 * (`ApprovalReviewView`), then the run diff widget comparing the version in the target
 * stage now (A) with the requested one (B) — its tables show params, metrics, data digests
 * and packages, and nbdime renders the two checkpoints' notebook diff.
 */
import {
  Dialog,
  MainAreaWidget,
  Notification,
  ReactWidget,
  ToolbarButton,
  showDialog
} from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { decideApproval, getApproval } from '../api/approvals';
import { MMClient } from '../api/client';
import { ApprovalReview } from '../api/schema';
import { ApprovalReviewView } from '../components/ApprovalViews';
import { errorMessage } from '../format';
import { modelsIcon } from './models';
import { RunDiffWidget } from './runDiff';

export interface IApprovalWidgetOptions {
  client: MMClient;
  rendermime: IRenderMimeRegistry;
  requestId: number;
  openRun: (runId: string) => void;
  /** Called after a decision was recorded (the model's views reload). */
  decided: (model: string) => void;
}

/** A dialog body with one required text area: the reason of a decision. */
class ReasonBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(intro: string) {
    super();
    this.addClass('jp-mm-DialogBody');
    const text = document.createElement('p');
    text.textContent = intro;
    this._input.className = 'jp-mod-styled';
    this._input.dataset.testid = 'mm-dialog-reason';
    this._input.rows = 3;
    this.node.append(text, this._input);
  }

  getValue(): string {
    return this._input.value.trim();
  }

  private _input = document.createElement('textarea');
}

/** Ask for the reason of a decision; null when cancelled. */
export async function askReason(
  title: string,
  intro: string,
  accept: string
): Promise<string | null> {
  for (;;) {
    const result = await showDialog({
      title,
      body: new ReasonBody(intro),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })],
      focusNodeSelector: 'textarea'
    });
    if (!result.button.accept) {
      return null;
    }
    if (result.value) {
      return result.value;
    }
    Notification.warning('Give a reason: it is recorded in the audit trail.');
  }
}

class ReviewHeader extends ReactWidget {
  constructor(private readonly _owner: ApprovalWidget) {
    super();
    this.addClass('jp-mm-ApprovalHeader');
  }

  review: ApprovalReview | null = null;
  error: string | null = null;

  protected render(): JSX.Element {
    if (!this.review) {
      return this.error ? (
        <p className="jp-mm-Error" role="alert">
          {this.error}
        </p>
      ) : (
        <p className="jp-mm-Loading">Loading the request…</p>
      );
    }
    return (
      <>
        {this.error && (
          <p
            className="jp-mm-Error"
            role="alert"
            data-testid="mm-approval-error"
          >
            {this.error}
          </p>
        )}
        <ApprovalReviewView
          review={this.review}
          actions={{
            decide: decision => void this._owner.decide(decision),
            openRun: id => this._owner.openRun(id)
          }}
        />
      </>
    );
  }
}

let nextWidgetId = 0;

export class ApprovalWidget extends MainAreaWidget<Panel> {
  constructor(options: IApprovalWidgetOptions) {
    const content = new Panel();
    content.addClass('jp-mm-Approval-content');
    super({ content });
    this._options = options;
    this.requestId = options.requestId;
    this.id = `jupyter-mm-approval-${nextWidgetId++}`;
    this.addClass('jp-mm-Approval');
    this.node.dataset.request = String(options.requestId);
    this.title.label = `Request #${options.requestId}`;
    this.title.icon = modelsIcon;
    this.title.closable = true;
    this._header = new ReviewHeader(this);
    content.addWidget(this._header);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Reload the request',
        onClick: () => void this.reload()
      })
    );
    void this.reload();
  }

  readonly requestId: number;

  openRun(id: string): void {
    this._options.openRun(id);
  }

  async reload(): Promise<void> {
    try {
      this._header.review = await getApproval(
        this._options.client,
        this.requestId
      );
      this._header.error = null;
    } catch (error) {
      this._header.error = `Request #${this.requestId} could not be loaded: ${errorMessage(error)}`;
    }
    this._header.update();
    this._showDiff();
  }

  /** Ask for a reason, send the decision, report it, reload. */
  async decide(decision: 'approve' | 'reject'): Promise<void> {
    const review = this._header.review;
    if (!review) {
      return;
    }
    const r = review.request;
    const what = `${r.model} v${r.version} → ${r.to_stage}`;
    const reason = await askReason(
      `${decision === 'approve' ? 'Approve' : 'Reject'} request #${r.id}`,
      decision === 'approve'
        ? `Approve ${what}: the transition happens now (gates are checked again).`
        : `Reject ${what}: nothing moves.`,
      decision === 'approve' ? 'Approve' : 'Reject'
    );
    if (reason === null) {
      return;
    }
    try {
      const done = await decideApproval(
        this._options.client,
        r.id,
        decision,
        reason
      );
      Notification.success(`Request #${done.id} ${done.status}.`, {
        autoClose: 5000
      });
    } catch (error) {
      Notification.error(errorMessage(error), { autoClose: 10000 });
    }
    this._options.decided(r.model);
    await this.reload();
  }

  /** The run diff of the current and the requested version, added once. */
  private _showDiff(): void {
    const review = this._header.review;
    if (this._diff || !review?.current) {
      return;
    }
    this._diff = new RunDiffWidget({
      client: this._options.client,
      rendermime: this._options.rendermime,
      openRun: id => this._options.openRun(id),
      runA: review.current.run_id,
      runB: review.candidate.run_id
    });
    this._diff.addClass('jp-mm-Approval-diff');
    this.content.addWidget(this._diff);
  }

  private readonly _options: IApprovalWidgetOptions;
  private readonly _header: ReviewHeader;
  private _diff: RunDiffWidget | null = null;
}
