import './base.css';
import './detail.css';
import './diff.css';
import './models.css';
import './monitoring.css';
