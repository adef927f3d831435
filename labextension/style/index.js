import './base.css';
import './detail.css';
import './diff.css';
import './models.css';
import './approvals.css';
import './monitoring.css';
