/** Problems with what a user sent (a policy, a form), each located, carried to the API's error answer. */
export interface InputIssue {
  /** `spec.sets._base.descriptor[0].condition`, or empty for the document itself. */
  readonly path: string;
  readonly message: string;
  /** 1-based, for YAML input. */
  readonly line?: number;
  readonly column?: number;
  readonly severity: 'error' | 'warning';
}

export class InputInvalid extends Error {
  constructor(readonly issues: readonly InputIssue[]) {
    super('invalid input');
  }
}
